import Checkpoint
import Foundation

/// One shot's calibration rows on disk (the streamed mode of `MemoryPlan`): every distinct Linear input
/// (the rows `A` is built from) and every Linear's output gradient (the rows of `G`), appended sequence by
/// sequence to one file per factor during the single forward/backward pass. Afterwards each factor is rebuilt
/// alone by `accumulate`, with the same `ssyrk` calls on the same per-sequence blocks as the in-memory
/// accumulator, so an `f32` spill gives bit-identical factors and a `bf16` one halves the disk.
///
/// The directory is the spill's own: `remove()` deletes it (the runner does so when the shot ends).
public final class ActivationSpill: FactorStore, @unchecked Sendable {
    /// How the rows are stored.
    public enum Precision: String, Codable, Sendable, CaseIterable {
        /// Exact: the factors equal the in-memory ones bit for bit.
        case f32
        /// Half the bytes; each element keeps 8 bits of mantissa (the factors average thousands of rows).
        case bf16

        public var bytes: Int { self == .f32 ? 4 : 2 }
    }

    public let directory: URL
    public let precision: Precision
    private var files: [String: Int32] = [:]
    /// Row counts of the blocks appended to each file, in order.
    private var blocks: [String: [Int]] = [:]
    private var widths: [String: Int] = [:]
    /// Bytes written so far.
    public private(set) var bytesWritten = 0

    /// Creates (or empties) `directory`.
    public init(directory: URL, precision: Precision) throws {
        self.directory = directory
        self.precision = precision
        let fm = FileManager.default
        try? fm.removeItem(at: directory)
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { for fd in files.values { close(fd) } }

    /// Appends `rows × width` floats (row-major) to the file of `key`.
    public func append(_ key: String, _ data: UnsafePointer<Float>, rows: Int, width: Int) throws {
        guard rows > 0 else { return }
        if let w = widths[key], w != width {
            throw PruningError.spill(path: path(key), reason: "rows of width \(width) appended to a file of width \(w)")
        }
        let fd = try descriptor(key)
        let count = rows * width
        switch precision {
        case .f32:
            try writeAll(fd, UnsafeRawPointer(data), count * 4, key)
        case .bf16:
            let chunk = 1 << 18
            var buf = [UInt16](repeating: 0, count: min(chunk, count))
            var i = 0
            while i < count {
                let n = min(chunk, count - i)
                buf.withUnsafeMutableBufferPointer { b in for j in 0..<n { b[j] = floatToBFloat16(data[i + j]) } }
                try buf.withUnsafeBytes { try writeAll(fd, $0.baseAddress!, n * 2, key) }
                i += n
            }
        }
        widths[key] = width
        blocks[key, default: []].append(rows)
        bytesWritten += count * precision.bytes
    }

    /// Adds every block of `key` to `acc`, one `ssyrk` per appended block (as the in-memory pass did).
    public func accumulate(_ key: String, into acc: KFACAccumulator) throws {
        guard let sizes = blocks[key], let width = widths[key] else { return }
        guard width == acc.dimension else {
            throw PruningError.spill(path: path(key), reason: "width \(width) read into a factor of order \(acc.dimension)")
        }
        let fd = open(path(key), O_RDONLY)
        guard fd >= 0 else { throw PruningError.spill(path: path(key), reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var rows = [Float](repeating: 0, count: (sizes.max() ?? 0) * width)
        var half = precision == .bf16 ? [UInt16](repeating: 0, count: rows.count) : []
        for t in sizes {
            let count = t * width
            switch precision {
            case .f32:
                try rows.withUnsafeMutableBytes { try readAll(fd, $0.baseAddress!, count * 4, key) }
            case .bf16:
                try half.withUnsafeMutableBytes { try readAll(fd, $0.baseAddress!, count * 2, key) }
                half.withUnsafeBufferPointer { h in rows.withUnsafeMutableBufferPointer { r in
                    for j in 0..<count { r[j] = bfloat16ToFloat(h[j]) }
                } }
            }
            rows.withUnsafeBufferPointer { acc.add($0.baseAddress!, tokens: t) }
        }
    }

    /// Keeps a finalized factor (`data`, fp32) beside the spill, so that the second pass reads it instead of
    /// rebuilding it; the factor's spilled rows are deleted then (they are not needed again).
    public func storeFactor(_ key: String, _ data: [Float]) throws {
        let p = path("F" + key)
        let fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw PruningError.spill(path: p, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        try data.withUnsafeBytes { try writeAll(fd, $0.baseAddress!, $0.count, "F" + key) }
        bytesWritten += data.count * 4
        discard(key)
    }

    /// The factor `storeFactor` kept for `key` (`count` floats), or `nil`.
    public func storedFactor(_ key: String, count: Int) throws -> [Float]? {
        let p = path("F" + key)
        let fd = open(p, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out = [Float](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { try readAll(fd, $0.baseAddress!, $0.count, "F" + key) }
        return out
    }

    /// Deletes one factor's file once it is no longer needed (frees disk during the shot).
    public func discard(_ key: String) {
        if let fd = files.removeValue(forKey: key) { close(fd) }
        unlink(path(key))
    }

    /// Deletes the whole spill.
    public func remove() {
        for fd in files.values { close(fd) }
        files.removeAll()
        try? FileManager.default.removeItem(at: directory)
    }

    private func path(_ key: String) -> String { directory.appendingPathComponent(key + ".bin").path }

    private func descriptor(_ key: String) throws -> Int32 {
        if let fd = files[key] { return fd }
        let fd = open(path(key), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o600)
        guard fd >= 0 else { throw PruningError.spill(path: path(key), reason: String(cString: strerror(errno))) }
        files[key] = fd
        return fd
    }

    private func writeAll(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int, _ key: String) throws {
        var off = 0
        while off < n {
            let w = write(fd, p + off, n - off)
            if w < 0 && errno == EINTR { continue }
            guard w > 0 else {
                let reason = errno == ENOSPC ? "no space left on the device (\(bytesWritten + off) bytes of spill written)"
                                             : String(cString: strerror(errno))
                throw PruningError.spill(path: path(key), reason: reason)
            }
            off += w
        }
    }

    private func readAll(_ fd: Int32, _ p: UnsafeMutableRawPointer, _ n: Int, _ key: String) throws {
        var off = 0
        while off < n {
            let r = read(fd, p + off, n - off)
            if r < 0 && errno == EINTR { continue }
            guard r > 0 else { throw PruningError.spill(path: path(key), reason: r == 0 ? "file shorter than written" : String(cString: strerror(errno))) }
            off += r
        }
    }
}
