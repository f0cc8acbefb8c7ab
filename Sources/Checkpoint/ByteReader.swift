/// A bounds-checked little-endian cursor over raw bytes; every read throws `truncated` instead of
/// reading past the end.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var offset: Int = 0

    init(_ bytes: UnsafeRawBufferPointer, path: String, offset: Int = 0) {
        self.bytes = bytes; self.path = path; self.offset = offset
    }

    var remaining: Int { bytes.count - offset }

    /// Throws unless `n` more bytes are available.
    func need(_ n: Int, _ what: @autoclosure () -> String) throws {
        if n < 0 || n > remaining { throw CheckpointError.truncated(path: path, what: what()) }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try need(MemoryLayout<T>.size, what())
        let v = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    mutating func readF32(_ what: @autoclosure () -> String) throws -> Float {
        Float(bitPattern: try read(UInt32.self, what()))
    }

    mutating func readF64(_ what: @autoclosure () -> String) throws -> Double {
        Double(bitPattern: try read(UInt64.self, what()))
    }

    /// Reads `n` bytes as UTF-8 (invalid sequences are repaired, never fatal).
    mutating func readString(count n: Int, _ what: @autoclosure () -> String) throws -> String {
        try need(n, what())
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n]), as: UTF8.self)
        offset += n
        return s
    }
}

/// Checked arithmetic helpers: overflow becomes `nil`, never a trap.
@inline(__always) func checkedMul(_ a: Int, _ b: Int) -> Int? {
    let (r, o) = a.multipliedReportingOverflow(by: b); return o ? nil : r
}

@inline(__always) func checkedAdd(_ a: Int, _ b: Int) -> Int? {
    let (r, o) = a.addingReportingOverflow(b); return o ? nil : r
}

/// Product of `dims`, or `nil` when negative or overflowing.
func checkedProduct(_ dims: [Int]) -> Int? {
    var p = 1
    for d in dims {
        guard d >= 0, let q = checkedMul(p, d) else { return nil }
        p = q
    }
    return p
}
