import Foundation
import Tensor

/// Writes fp32 tensors as a `.safetensors` file (stored as F32, F16 or BF16), atomically
/// (temporary file, fsync, rename).
public enum SafetensorsWriter {
    /// Storage types the writer can produce.
    public enum StorageType: String, Sendable { case F32, F16, BF16 }

    /// Serialises `tensors` (sorted by name) to bytes.
    public static func encode(_ tensors: [String: Tensor], as type: StorageType = .F32,
                              metadata: [String: String] = ["format": "pt"]) -> [UInt8] {
        encode(tensors, as: type, metadata: metadata, headerOnly: false)
    }

    /// The file's bytes, or only its length prefix and header (`headerOnly`).
    static func encode(_ tensors: [String: Tensor], as type: StorageType, metadata: [String: String], headerOnly: Bool) -> [UInt8] {
        var out = header(shapes: tensors.mapValues(\.shape), as: type, metadata: metadata)
        if headerOnly { return out }
        for n in tensors.keys.sorted() {
            tensors[n]!.data.withUnsafeBufferPointer { src in
                switch type {
                case .F32:
                    out.append(contentsOf: UnsafeRawBufferPointer(src))
                case .F16, .BF16:
                    let half = [UInt16](unsafeUninitializedCapacity: src.count) { dst, c in
                        for i in 0..<src.count { dst[i] = (type == .F16 ? floatToHalf(src[i]) : floatToBFloat16(src[i])).littleEndian }
                        c = src.count
                    }
                    half.withUnsafeBytes { out.append(contentsOf: $0) }
                }
            }
        }
        return out
    }

    /// The length prefix and JSON header of a file holding tensors of `shapes` (sorted by name), padded so the
    /// data starts 8-aligned.
    static func header(shapes: [String: [Int]], as type: StorageType, metadata: [String: String]) -> [UInt8] {
        let esize = type == .F32 ? 4 : 2
        var header = "{"
        if !metadata.isEmpty {
            header += "\"__metadata__\":{" + metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }.joined(separator: ",") + "},"
        }
        var offset = 0
        var entries: [String] = []
        for n in shapes.keys.sorted() {
            let shape = shapes[n]!
            let len = shape.reduce(1, *) * esize
            entries.append("\(jsonString(n)):{\"dtype\":\"\(type.rawValue)\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + len)]}")
            offset += len
        }
        header += entries.joined(separator: ",") + "}"
        var h = Array(header.utf8)
        while (8 + h.count) % 8 != 0 { h.append(0x20) } // pad with spaces so data starts 8-aligned
        var out = [UInt8]()
        out.reserveCapacity(8 + h.count + offset)
        withUnsafeBytes(of: UInt64(h.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: h)
        return out
    }

    /// Writes `tensors` and the 16-bit `half` tensors to `path` (temporary file, fsync, rename) in pieces of at
    /// most 4 MiB: the file's bytes are never held in memory at once (a 7B model's weights would need another
    /// 27 GB), and a 16-bit tensor written in its own format is copied bit for bit.
    public static func write(_ tensors: [String: Tensor], half: [String: HalfTensor] = [:], to path: String,
                             as type: StorageType = .F32, metadata: [String: String] = ["format": "pt"]) throws {
        let shapes = tensors.mapValues(\.shape).merging(half.mapValues(\.shape)) { a, _ in a }
        let header = header(shapes: shapes, as: type, metadata: metadata)
        let names = shapes.keys.sorted()
        try writeAtomically(to: path) { emit in
            try emit(header)
            let piece = 1 << 20  // elements
            var buf = [UInt8]()
            for n in names {
                if let h = half[n], tensors[n] == nil {
                    if h.kind.storage == type {
                        try h.bits.withUnsafeBytes { raw in
                            var i = 0
                            while i < raw.count {
                                let m = min(2 * piece, raw.count - i)
                                try emit(Array(UnsafeRawBufferPointer(rebasing: raw[i ..< i + m])))
                                i += m
                            }
                        }
                        continue
                    }
                    try write(h.floats(), type: type, piece: piece, buf: &buf, emit: emit)
                    continue
                }
                try write(tensors[n]!.data, type: type, piece: piece, buf: &buf, emit: emit)
            }
        }
    }

    /// Emits `values` converted to `type`, `piece` elements at a time.
    private static func write(_ values: [Float], type: StorageType, piece: Int, buf: inout [UInt8],
                              emit: ([UInt8]) throws -> Void) throws {
        try values.withUnsafeBufferPointer { src in
            var i = 0
            while i < src.count {
                let m = min(piece, src.count - i)
                buf.removeAll(keepingCapacity: true)
                switch type {
                case .F32:
                    buf.append(contentsOf: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: src[i ..< i + m])))
                case .F16, .BF16:
                    for j in i ..< i + m {
                        let h = (type == .F16 ? floatToHalf(src[j]) : floatToBFloat16(src[j])).littleEndian
                        buf.append(UInt8(truncatingIfNeeded: h)); buf.append(UInt8(truncatingIfNeeded: h >> 8))
                    }
                }
                try emit(buf)
                i += m
            }
        }
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}

/// Writes `bytes` to a temporary file beside `path`, fsyncs it and renames it over `path`.
func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    try writeAtomically(to: path) { emit in try emit(bytes) }
}

/// Writes what `body` emits, piece by piece, to a temporary file beside `path`, fsyncs it and renames it over
/// `path`; on any failure (a full disk says so) the temporary file is removed and `path` is untouched.
func writeAtomically(to path: String, _ body: (_ emit: ([UInt8]) throws -> Void) throws -> Void) throws {
    let tmp = path + ".tmp-\(getpid())"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
    func fail(_ reason: String) -> Error { close(fd); unlink(tmp); return CheckpointError.writeFailed(path: path, reason: reason) }
    do {
        try body { bytes in
            try bytes.withUnsafeBytes { buf in
                var off = 0
                while off < buf.count {
                    let n = Foundation.write(fd, buf.baseAddress! + off, buf.count - off)
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
                    off += n
                }
            }
        }
    } catch let e as CheckpointError {
        if case .writeFailed(_, let reason) = e { throw fail(reason) }
        throw fail("\(e)")
    }
    guard fsync(fd) == 0 else { throw fail(String(cString: strerror(errno))) }
    close(fd)
    guard rename(tmp, path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(tmp)
        throw CheckpointError.writeFailed(path: path, reason: reason)
    }
}
