import CZlib

/// Errors from zlib.
public enum GzipError: Error, Equatable {
    case zlib(operation: String, code: Int32)
    case truncated
}

/// Incremental gzip compression (RFC 1952) with zlib: feed pieces, get compressed pieces, finish.
/// Used for streamed responses (`.tar.gz` archives, compressed SSE) where the whole body never sits
/// in memory.
public final class GzipStream {
    private var stream = z_stream()
    private var finished = false

    /// `level` 1 (fast) … 9 (small); 6 is zlib's default.
    public init(level: Int32 = 6) throws {
        let rc = deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                               zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw GzipError.zlib(operation: "deflateInit2", code: rc) }
    }

    deinit { deflateEnd(&stream) }

    /// Compresses `bytes`. With `flush` the output so far is complete enough for the receiver to
    /// decode everything written (Z_SYNC_FLUSH), which streamed events need.
    public func update(_ bytes: [UInt8], flush: Bool = false) throws -> [UInt8] {
        try run(bytes, mode: flush ? Z_SYNC_FLUSH : Z_NO_FLUSH)
    }

    /// Ends the stream and returns the remaining output (including the gzip trailer).
    public func finish() throws -> [UInt8] {
        guard !finished else { return [] }
        finished = true
        return try run([], mode: Z_FINISH)
    }

    private func run(_ input: [UInt8], mode: Int32) throws -> [UInt8] {
        var output: [UInt8] = []
        var piece = [UInt8](repeating: 0, count: max(1024, input.count / 2 + 64))
        try input.withUnsafeBufferPointer { inBuf in
            stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
            stream.avail_in = UInt32(inBuf.count)
            while true {
                let produced: Int = try piece.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = UInt32(outBuf.count)
                    let rc = deflate(&stream, mode)
                    guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else {
                        throw GzipError.zlib(operation: "deflate", code: rc)
                    }
                    return outBuf.count - Int(stream.avail_out)
                }
                output += piece[0..<produced]
                // Done when zlib had room to spare: all input consumed and everything flushed.
                if stream.avail_out != 0 && stream.avail_in == 0 { break }
            }
            stream.next_in = nil
        }
        return output
    }
}
