import Foundation
import XCTest
@testable import HTTP

final class HTTPServerStreamingTests: XCTestCase {
    func testChunkedUploadFromCurl_IsStreamedToTheHandlerInPieces() throws {
        let pieces = Recorder<Int>()
        let server = try startServer({ $0.maxBodyBytes = nil }) { req in
            var total = 0, sum = 0
            do {
                while let piece = try req.body.read(maxBytes: 64 * 1024) {
                    pieces.append(piece.count)
                    total += piece.count
                    for b in piece { sum = (sum &+ Int(b)) & 0xFFFF_FFFF }
                }
            } catch { return text("\(error)", status: 400) }
            return text("\(req.headers["Transfer-Encoding"] ?? "-") \(total) \(sum)")
        }
        defer { server.stop(gracePeriod: 1) }
        let payload = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        let expectedSum = payload.reduce(0) { ($0 &+ Int($1)) & 0xFFFF_FFFF }
        let (status, out, err) = try runTool("/usr/bin/curl", ["-sS", "-H", "Transfer-Encoding: chunked", "-H", "Expect:",
                                                           "--data-binary", "@-", "http://127.0.0.1:\(server.port)/up"], stdin: payload)
        XCTAssertEqual(status, 0, err)
        XCTAssertEqual(out, "chunked 3000000 \(expectedSum)")
        XCTAssertGreaterThan(pieces.all.count, 10, "the body arrived in pieces, not buffered whole")
        XCTAssertLessThanOrEqual(pieces.all.max() ?? 0, 64 * 1024)
    }

    func testServerSentEvents_ArriveIncrementally() throws {
        let proceed = DispatchSemaphore(value: 0)
        let server = try startServer { _ in
            HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")]),
                         body: .stream { w in
                try w.write("id: 1\ndata: first\n\n")
                proceed.wait()   // the client must see the first event before the second is produced
                try w.write("id: 2\ndata: second\n\n")
            })
        }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        try client.send(RawHTTPClient.get("/events", extra: "Accept: text/event-stream\r\n"))
        let head = try client.readHead()
        XCTAssertEqual(head.headers["Transfer-Encoding"], "chunked")
        XCTAssertEqual(try client.readChunk().map { String(decoding: $0, as: UTF8.self) }, "id: 1\ndata: first\n\n")
        proceed.signal()
        XCTAssertEqual(try client.readChunk().map { String(decoding: $0, as: UTF8.self) }, "id: 2\ndata: second\n\n")
        XCTAssertNil(try client.readChunk())
        try client.send(RawHTTPClient.get("/events"))
        proceed.signal()
        XCTAssertEqual(try client.readResponse().status, 200, "the connection survives a finished stream")
    }

    func testSSEStream_EndsWhenTheServerStops() throws {
        let server = try startServer { _ in
            HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", "text/event-stream")]), body: .stream { w in
                while true { try w.write(": keepalive\n\n"); usleep(20_000) }
            })
        }
        let client = try RawHTTPClient(port: server.port)
        try client.send(RawHTTPClient.get("/events"))
        _ = try client.readHead()
        XCTAssertNotNil(try client.readChunk())
        server.stop(gracePeriod: 5)
        var chunks = 0
        while (try client.readChunk()) != nil { chunks += 1 }
        XCTAssertTrue(client.isClosedByPeer(), "the stream ended with its last chunk, then the connection closed")
    }

    func testStreamedBody_IsGzippedWhenTheHandlerAsks() throws {
        let server = try startServer { _ in
            var r = HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", "application/x-tar")]), body: .stream { w in
                for i in 0..<100 { try w.write("line \(i) " + String(repeating: "x", count: 100) + "\n") }
            })
            r.compression = .gzip
            return r
        }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        try client.send(RawHTTPClient.get("/a.tar", extra: "Accept-Encoding: gzip\r\n"))
        let r = try client.readResponse()
        XCTAssertEqual(r.headers["Content-Encoding"], "gzip")
        let plain = String(decoding: try Gzip.decompress(r.body), as: UTF8.self)
        XCTAssertEqual(plain.split(separator: "\n").count, 100)
        XCTAssertTrue(plain.hasPrefix("line 0 x"))
    }

    func testHeadOnAStream_SendsNoBody() throws {
        let server = try startServer { _ in HTTPResponse(status: 200, body: .stream { w in try w.write("never") }) }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        try client.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n" + RawHTTPClient.get("/"))
        _ = try client.readResponse(head: true)
        XCTAssertEqual(try client.readResponse().text, "never")
    }
}

extension HTTPServerStreamingTests {
    func testStreamToHTTP10Client_IsDelimitedByClose() throws {
        let server = try startServer { _ in HTTPResponse(status: 200, body: .stream { w in try w.write("one "); try w.write("two") }) }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        try client.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        let head = try client.readHead()
        XCTAssertNil(head.headers["Transfer-Encoding"])
        XCTAssertEqual(head.headers["Connection"], "close")
        XCTAssertEqual(String(decoding: try client.readBytes(7), as: UTF8.self), "one two")
        XCTAssertTrue(client.isClosedByPeer())
    }
}
