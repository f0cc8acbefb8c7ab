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
        let names = tensors.keys.sorted()
        let esize = type == .F32 ? 4 : 2
        var header = "{"
        if !metadata.isEmpty {
            header += "\"__metadata__\":{" + metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }.joined(separator: ",") + "},"
        }
        var offset = 0
        var entries: [String] = []
        for n in names {
            let t = tensors[n]!
            let len = t.count * esize
            entries.append("\(jsonString(n)):{\"dtype\":\"\(type.rawValue)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + len)]}")
            offset += len
        }
        header += entries.joined(separator: ",") + "}"
        var h = Array(header.utf8)
        while (8 + h.count) % 8 != 0 { h.append(0x20) } // pad with spaces so data starts 8-aligned
        var out = [UInt8]()
        out.reserveCapacity(8 + h.count + offset)
        withUnsafeBytes(of: UInt64(h.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: h)
        for n in names {
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

    /// Writes `tensors` to `path`.
    public static func write(_ tensors: [String: Tensor], to path: String, as type: StorageType = .F32,
                             metadata: [String: String] = ["format": "pt"]) throws {
        try writeAtomically(encode(tensors, as: type, metadata: metadata), to: path)
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
    let tmp = path + ".tmp-\(getpid())"
    let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
    var ok = true
    bytes.withUnsafeBytes { buf in
        var off = 0
        while off < buf.count {
            let n = Foundation.write(fd, buf.baseAddress! + off, buf.count - off)
            if n <= 0 { ok = false; break }
            off += n
        }
    }
    if ok { ok = fsync(fd) == 0 }
    close(fd)
    guard ok, rename(tmp, path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(tmp)
        throw CheckpointError.writeFailed(path: path, reason: reason)
    }
}
