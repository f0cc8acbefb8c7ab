import CZlib

/// A gzip encoder over zlib's deflate that hands compressed pieces to `sink` as it goes.
final class GzipStream {
    private var stream = z_stream()
    private let sink: ([UInt8]) throws -> Void
    private var out = [UInt8](repeating: 0, count: 1 << 16)
    private var ended = false

    init(level: Int32 = 6, sink: @escaping ([UInt8]) throws -> Void) throws {
        self.sink = sink
        // windowBits 15 + 16 selects the gzip wrapper.
        let rc = deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw GzipError.zlib(rc) }
    }

    deinit { if !ended { deflateEnd(&stream) } }

    /// Compresses `bytes`, emitting whatever output zlib produces.
    func write(_ bytes: [UInt8]) throws {
        var input = bytes
        try input.withUnsafeMutableBufferPointer { buf in
            stream.next_in = buf.baseAddress
            stream.avail_in = UInt32(buf.count)
            try pump(flush: Z_NO_FLUSH)
        }
    }

    /// Flushes the trailer.
    func finish() throws {
        stream.next_in = nil
        stream.avail_in = 0
        try pump(flush: Z_FINISH)
        deflateEnd(&stream)
        ended = true
    }

    private func pump(flush: Int32) throws {
        repeat {
            let (rc, produced) = out.withUnsafeMutableBufferPointer { o -> (Int32, Int) in
                stream.next_out = o.baseAddress
                stream.avail_out = UInt32(o.count)
                let rc = deflate(&stream, flush)
                return (rc, o.count - Int(stream.avail_out))
            }
            guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else { throw GzipError.zlib(rc) }
            if produced > 0 { try sink(Array(out[0..<produced])) }
            if flush == Z_FINISH && rc == Z_STREAM_END { return }
        } while stream.avail_out == 0 || (flush == Z_FINISH)
    }
}

enum GzipError: Error { case zlib(Int32) }
