import Foundation
import XCTest
@testable import HTTP

final class HTTPServerLimitsTests: XCTestCase {
    func testHugeHeaders_Answer431() throws {
        let server = try startServer({ $0.maxHeaderBytes = 4096 }) { _ in text("x") }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        try client.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 8000))\r\n\r\n")
        let r = try client.readResponse()
        XCTAssertEqual(r.status, 431)
        XCTAssertEqual(r.headers["Content-Type"], "application/problem+json")
        XCTAssertTrue(client.isClosedByPeer())
    }

    func testBodyOverLimit_Answers413WithoutCallingTheHandler() throws {
        let calls = Recorder<Int>()
        let server = try startServer({ $0.maxBodyBytes = 1000 }) { _ in calls.append(1); return text("x") }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        try client.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 413)
        XCTAssertTrue(calls.all.isEmpty)
    }

    func testChunkedBodyOverLimit_ThrowsBodyTooLargeInTheHandler() throws {
        let server = try startServer({ $0.maxBodyBytes = 10 }) { req in
            do { _ = try req.body.readAll(limit: 1 << 20); return text("read") } catch let e as HTTPError {
                return text("\(e)", status: 413)
            } catch { return text("?", status: 500) }
        }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        try client.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n8\r\n01234567\r\n0\r\n\r\n")
        let r = try client.readResponse()
        XCTAssertEqual(r.status, 413)
        XCTAssertEqual(r.text, "bodyTooLarge(limit: 10)")
    }

    func testPerRequestBodyLimit_OverridesTheDefault() throws {
        let server = try startServer({ c in
            c.maxBodyBytes = 10
            c.bodyLimit = { head in head.target.hasPrefix("/upload") ? nil : 10 }
        }) { req in text("\((try? req.body.readAll(limit: 1 << 30).count) ?? -1)") }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        try client.send("PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + String(repeating: "u", count: 100_000))
        XCTAssertEqual(try client.readResponse().text, "100000")
    }

    func testSlowlorisClient_IsDroppedAtTheHeaderTimeout() throws {
        let server = try startServer({ $0.timeouts = .init(headerRead: 0.5, idle: 30, bodyRead: 5) }) { _ in text("x") }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        let start = Date()
        var dropped = false
        for byte in "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + String(repeating: "s", count: 100) {
            do { try client.send(String(byte)) } catch { dropped = true; break }
            usleep(50_000)
            if Date().timeIntervalSince(start) > 3 { break }
        }
        let r = try? client.readResponse()
        print("slowloris dropped after \(Date().timeIntervalSince(start)) s, status \(r?.status ?? 0), send failed: \(dropped)")
        XCTAssertEqual(r?.status ?? 408, 408)
        XCTAssertTrue(client.isClosedByPeer())
    }

    func testIdleKeepAliveConnection_IsClosedAfterIdleTimeout() throws {
        let server = try startServer({ $0.timeouts = .init(headerRead: 5, idle: 0.3, bodyRead: 5) }) { _ in text("x") }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        try client.send(RawHTTPClient.get("/"))
        XCTAssertEqual(try client.readResponse().status, 200)
        XCTAssertTrue(client.isClosedByPeer())
    }

    func testRateLimit_Answers429WithRetryAfter() throws {
        let server = try startServer({ $0.rateLimit = .init(requestsPerSecond: 0.5, burst: 2) }) { _ in text("x") }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        var statuses: [Int] = []
        var retryAfter: String?
        for _ in 0..<3 {
            try client.send(RawHTTPClient.get("/"))
            let r = try client.readResponse()
            statuses.append(r.status)
            retryAfter = r.headers["Retry-After"] ?? retryAfter
        }
        XCTAssertEqual(statuses, [200, 200, 429])
        XCTAssertEqual(retryAfter, "2")
        server.stop(gracePeriod: 1)
        XCTAssertEqual(server.stats.rateLimitedRequests, 1)
    }

    func testConnectionsOverTheLimit_Get503_WhenNoneIsIdle() throws {
        let server = try startServer({ $0.maxConnections = 1 }) { _ in text("x") }
        defer { server.stop(gracePeriod: 1) }
        let first = try RawHTTPClient(port: server.port)
        try first.send(RawHTTPClient.get("/"))
        XCTAssertEqual(try first.readResponse().status, 200)
        try first.send("GET / HTTP/1.1\r\n")   // busy again: in the middle of a request head
        usleep(200_000)
        let second = try RawHTTPClient(port: server.port)
        XCTAssertEqual(try second.readResponse().status, 503)
    }

    func testGracefulStop_FinishesTheInFlightRequest_AndClosesIdleConnections() throws {
        let entered = DispatchSemaphore(value: 0)
        let server = try startServer { req in
            if req.path == "/slow" { entered.signal(); usleep(300_000) }
            return text("done \(req.path)")
        }
        let idle = try RawHTTPClient(port: server.port)
        try idle.send(RawHTTPClient.get("/quick"))
        XCTAssertEqual(try idle.readResponse().status, 200)
        let busy = try RawHTTPClient(port: server.port)
        try busy.send(RawHTTPClient.get("/slow"))
        entered.wait()
        let stopped = DispatchSemaphore(value: 0)
        Thread { server.stop(gracePeriod: 5); stopped.signal() }.start()
        let r = try busy.readResponse()
        XCTAssertEqual(r.text, "done /slow")
        XCTAssertEqual(r.headers["Connection"], "close")
        XCTAssertTrue(idle.isClosedByPeer())
        stopped.wait()
        XCTAssertFalse(server.isRunning)
        XCTAssertThrowsError(try RawHTTPClient(port: server.port).send(RawHTTPClient.get("/")) )
    }

    func testStop_AfterGracePeriod_CutsOffAHangingStream() throws {
        let server = try startServer { _ in
            HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", "application/octet-stream")]), body: .stream { w in
                while true { try w.write("tick\n"); usleep(20_000) }
            })
        }
        let client = try RawHTTPClient(port: server.port)
        try client.send(RawHTTPClient.get("/"))
        XCTAssertEqual(try client.readHead().status, 200)
        let start = Date()
        server.stop(gracePeriod: 0.3)
        print("stop with a hanging stream took \(Date().timeIntervalSince(start)) s")
        XCTAssertFalse(server.isRunning)
        XCTAssertTrue(client.isClosedByPeer())
    }
}

extension HTTPServerLimitsTests {
    func testStalledBody_ThrowsTimeoutInTheHandler_AndClosesTheConnection() throws {
        let errors = Recorder<String>()
        let server = try startServer({ $0.timeouts = .init(headerRead: 5, idle: 30, bodyRead: 0.3) }) { req in
            do { _ = try req.body.readAll(limit: 100); return text("complete") } catch {
                errors.append("\(error)")
                return text("too slow", status: 408)
            }
        }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        try client.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        let r = try client.readResponse()
        XCTAssertEqual(r.status, 408)
        XCTAssertEqual(r.headers["Connection"], "close")
        XCTAssertEqual(errors.all, ["timeout"])
        XCTAssertTrue(client.isClosedByPeer())
    }

    func testBodyReaderKeptPastTheHandler_CannotReadTheNextRequest() throws {
        final class Box: @unchecked Sendable { var reader: HTTPBodyReader? }
        let box = Box()
        let server = try startServer { req in
            if box.reader == nil { box.reader = req.body; return text("first") }
            do { _ = try box.reader!.read(); return text("stale read") } catch { return text("refused") }
        }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        try client.send(RawHTTPClient.get("/1"))
        XCTAssertEqual(try client.readResponse().text, "first")
        try client.send("POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody")
        XCTAssertEqual(try client.readResponse().text, "refused")
    }
}

extension HTTPServerLimitsTests {
    func testWaitUntilStopped_ReturnsAfterStop() throws {
        let server = try startServer { _ in text("x") }
        let returned = DispatchSemaphore(value: 0)
        Thread { server.waitUntilStopped(); returned.signal() }.start()
        XCTAssertEqual(returned.wait(timeout: .now() + 0.2), .timedOut)
        server.stop(gracePeriod: 1)
        XCTAssertEqual(returned.wait(timeout: .now() + 5), .success)
    }
}
