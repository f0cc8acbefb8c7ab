import Foundation
import XCTest
@testable import HTTP

final class GzipTests: XCTestCase {
    func testCompress_RoundTripsThroughDecompress() throws {
        let input = Array(String(repeating: "the llm surgeon prunes weights ", count: 1000).utf8)
        let zipped = try XCTUnwrap(Gzip.compress(input))
        XCTAssertEqual(Array(zipped.prefix(2)), [0x1f, 0x8b], "gzip magic")
        XCTAssertLessThan(zipped.count, input.count / 10)
        XCTAssertEqual(try Gzip.decompress(zipped), input)
        XCTAssertEqual(try Gzip.decompress(XCTUnwrap(Gzip.compress([]))), [])
    }

    /// A body chosen for gzip whose compression fails goes out as identity bytes, flagged so that the
    /// response carries no `Content-Encoding: gzip` (before: an empty body under a gzip header).
    func testEncodeBody_WhenCompressionFails_SendsTheIdentityBodyUnflagged() throws {
        let input = Array("{\"status\":\"ok\"}".utf8)
        let failed = Gzip.encodeBody(input, compressor: { _ in nil })
        XCTAssertEqual(failed.body, input)
        XCTAssertFalse(failed.gzipped)
        let ok = Gzip.encodeBody(input)
        XCTAssertTrue(ok.gzipped)
        XCTAssertEqual(try Gzip.decompress(ok.body), input)
    }

    func testGzipStream_OutputIsReadableByTheGzipTool() throws {
        let stream = try GzipStream()
        var out: [UInt8] = []
        var expected: [UInt8] = []
        for i in 0..<200 {
            let piece = Array("piece \(i) \(String(repeating: "ab", count: i))\n".utf8)
            expected += piece
            out += try stream.update(piece, flush: i % 50 == 0)
        }
        out += try stream.finish()
        let path = NSTemporaryDirectory() + "gz-\(UUID().uuidString).gz"
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = FileManager.default.createFile(atPath: path, contents: Data(out))
        let (status, text, err) = try runTool("/usr/bin/gzip", ["-dc", path])
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(Array(text.utf8), expected)
    }

    func testSyncFlush_MakesEverythingWrittenSoFarDecodable() throws {
        let stream = try GzipStream()
        let first = try stream.update(Array("data: one\n\n".utf8), flush: true)
        let decoder = SyncFlushDecoder()
        XCTAssertEqual(try decoder.feed(first), "data: one\n\n")
    }

    func testTruncatedInput_Throws() throws {
        let zipped = try XCTUnwrap(Gzip.compress(Array(repeating: 7, count: 10_000)))
        XCTAssertThrowsError(try Gzip.decompress(Array(zipped.prefix(zipped.count / 2))))
    }

    func testAcceptEncoding_IsNegotiated() {
        XCTAssertTrue(HTTPConnection.acceptsGzip("gzip, deflate, br"))
        XCTAssertTrue(HTTPConnection.acceptsGzip("br;q=1.0, GZIP;q=0.5"))
        XCTAssertFalse(HTTPConnection.acceptsGzip("gzip;q=0"))
        XCTAssertFalse(HTTPConnection.acceptsGzip("identity"))
        XCTAssertFalse(HTTPConnection.acceptsGzip(nil))
    }
}

import CZlib

/// Inflates a stream piece by piece, as a browser would.
struct SyncFlushDecoder {
    func feed(_ bytes: [UInt8]) throws -> String {
        var stream = z_stream()
        inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        defer { inflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: 4096)
        var input = bytes
        let produced: Int = input.withUnsafeMutableBufferPointer { inBuf in
            out.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = inBuf.baseAddress; stream.avail_in = UInt32(inBuf.count)
                stream.next_out = outBuf.baseAddress; stream.avail_out = UInt32(outBuf.count)
                _ = inflate(&stream, Z_SYNC_FLUSH)
                return outBuf.count - Int(stream.avail_out)
            }
        }
        return String(decoding: out[0..<produced], as: UTF8.self)
    }
}
