import CZlib

/// One-shot gzip helpers.
public enum Gzip {
    /// Compresses `bytes` into a complete gzip member; `nil` when zlib fails (never an empty "member").
    public static func compress(_ bytes: [UInt8], level: Int32 = 6) -> [UInt8]? {
        guard let stream = try? GzipStream(level: level),
              let head = try? stream.update(bytes), let tail = try? stream.finish() else { return nil }
        return head + tail
    }

    /// What a response whose body was chosen for gzip sends: the compressed bytes (`gzipped`: send
    /// `Content-Encoding: gzip`), or, when `compressor` fails, the identity bytes without that header.
    public static func encodeBody(_ bytes: [UInt8], compressor: ([UInt8]) -> [UInt8]? = { compress($0) })
        -> (body: [UInt8], gzipped: Bool) {
        guard let zipped = compressor(bytes) else { return (bytes, false) }
        return (zipped, true)
    }

    /// Decompresses gzip (or zlib) data, refusing output beyond `limit` bytes.
    public static func decompress(_ bytes: [UInt8], limit: Int = 1 << 30) throws -> [UInt8] {
        var stream = z_stream()
        var rc = inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw GzipError.zlib(operation: "inflateInit2", code: rc) }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var piece = [UInt8](repeating: 0, count: 64 * 1024)
        try bytes.withUnsafeBufferPointer { inBuf in
            stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
            stream.avail_in = UInt32(inBuf.count)
            repeat {
                let produced: Int = piece.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = UInt32(outBuf.count)
                    rc = inflate(&stream, Z_NO_FLUSH)
                    return outBuf.count - Int(stream.avail_out)
                }
                guard rc == Z_OK || rc == Z_STREAM_END || (rc == Z_BUF_ERROR && produced > 0) else {
                    throw rc == Z_BUF_ERROR ? GzipError.truncated : GzipError.zlib(operation: "inflate", code: rc)
                }
                output += piece[0..<produced]
                if output.count > limit { throw GzipError.zlib(operation: "inflate: output over limit", code: Z_BUF_ERROR) }
            } while rc != Z_STREAM_END
        }
        return output
    }

    /// Whether an `Accept-Encoding` header value admits gzip (listed with q > 0).
    public static func isAccepted(by value: String?) -> Bool {
        guard let value else { return false }
        for item in value.split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.trimmingOWS().lowercased() }
            guard parts.first == "gzip" || parts.first == "x-gzip" else { continue }
            if let q = parts.dropFirst().first(where: { $0.hasPrefix("q=") }), Double(q.dropFirst(2)) == 0 { return false }
            return true
        }
        return false
    }
}
