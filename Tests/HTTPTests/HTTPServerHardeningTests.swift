import Foundation
import XCTest
@testable import HTTP

/// Clients that hold connections or bodies open without sending a request: the server makes room,
/// answers from the head, and drops slow bodies at a deadline. Small limits keep each test short.
final class HTTPServerHardeningTests: XCTestCase {
    /// A handler that refuses requests without `Authorization` from the head.
    struct GuardedHandler: HTTPHandler {
        let calls: Recorder<String>
        func headCheck(_ head: HTTPRequestHead) -> HTTPResponse? {
            head.headers["Authorization"] == nil ? text("no token", status: 401) : nil
        }
        func handle(_ request: HTTPRequest) -> HTTPResponse {
            calls.append(request.path)
            return text("\((try? request.body.readAll(limit: 1 << 20).count) ?? -1)")
        }
    }

    /// Opens 20 connections from 127.0.0.1 that never send a byte, then makes a request from that
    /// client and from 127.0.0.2; returns the server's stats.
    private func requestsAfterTwentyIdleConnections(maxConnections: Int, perClient: Int) throws -> HTTPServerStats {
        let server = try startServer({ $0.maxConnections = maxConnections; $0.maxConnectionsPerClient = perClient }) { _ in text("ok") }
        defer { server.stop(gracePeriod: 1) }
        let idle = try (0..<20).map { _ in try RawHTTPClient(port: server.port, timeout: 2) }
        usleep(200_000)
        for from in ["127.0.0.1", "127.0.0.2"] {
            let client = try RawHTTPClient(port: server.port, timeout: 5, from: from)
            try client.send(RawHTTPClient.get("/healthz"))
            XCTAssertEqual(try client.readResponse().text, "ok", from)
        }
        withExtendedLifetime(idle) {}
        return server.stats
    }

    func testIdleConnectionsFillingTheServer_AreEvictedSoNewClientsAreServed() throws {
        let stats = try requestsAfterTwentyIdleConnections(maxConnections: 3, perClient: 100)
        XCTAssertGreaterThanOrEqual(stats.evictedConnections + stats.rejectedConnections, 17)
        // The first request finds the server full of idle connections and must evict one; the second may find the
        // first one's slot free again (its client has closed), so only one eviction is certain.
        XCTAssertGreaterThanOrEqual(stats.evictedConnections, 1, "the first request found the server full of idle connections")
    }

    func testIdleConnectionsOverThePerClientLimit_AreEvictedSoThatClientIsServed() throws {
        let stats = try requestsAfterTwentyIdleConnections(maxConnections: 100, perClient: 3)
        XCTAssertGreaterThanOrEqual(stats.evictedConnections + stats.rejectedConnections, 17)
        XCTAssertGreaterThanOrEqual(stats.evictedConnections, 1, "127.0.0.1's request evicted one of its idle connections")
    }

    func testBusyConnectionsOverThePerClientLimit_Get429_OtherClientsAreServed() throws {
        let server = try startServer({ $0.maxConnectionsPerClient = 2 }) { _ in text("ok") }
        defer { server.stop(gracePeriod: 1) }
        // Given two connections of one client in the middle of their request heads,
        let busy = try (0..<2).map { _ -> RawHTTPClient in
            let c = try RawHTTPClient(port: server.port, timeout: 2)
            try c.send("GET / HTTP/1.1\r\n")
            return c
        }
        usleep(300_000)
        // a third one from that client is refused with 429 and closed,
        let third = try RawHTTPClient(port: server.port, timeout: 2)
        XCTAssertEqual(try third.readResponse().status, 429)
        XCTAssertTrue(third.isClosedByPeer())
        // while another client is served.
        let other = try RawHTTPClient(port: server.port, timeout: 5, from: "127.0.0.2")
        try other.send(RawHTTPClient.get("/"))
        XCTAssertEqual(try other.readResponse().text, "ok")
        XCTAssertEqual(server.stats.rejectedConnections, 1)
        withExtendedLifetime(busy) {}
    }

    func testSilentConnection_IsClosedAtTheFirstByteDeadline() throws {
        let server = try startServer({ $0.timeouts = .init(headerRead: 5, idle: 30, bodyRead: 5, firstByte: 0.3) }) { _ in text("ok") }
        defer { server.stop(gracePeriod: 1) }
        let start = Date()
        let client = try RawHTTPClient(port: server.port, timeout: 5)
        XCTAssertTrue(client.isClosedByPeer())
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
        // A client that sent its request keeps the longer idle timeout after the response.
        let kept = try RawHTTPClient(port: server.port, timeout: 1)
        try kept.send(RawHTTPClient.get("/"))
        XCTAssertEqual(try kept.readResponse().status, 200)
        usleep(600_000)
        try kept.send(RawHTTPClient.get("/"))
        XCTAssertEqual(try kept.readResponse().status, 200)
    }

    func testHeadCheck_AnswersBeforeTheBodyIsSentAndCloses() throws {
        let calls = Recorder<String>()
        let server = HTTPServer(configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0), handler: GuardedHandler(calls: calls))
        try server.start()
        defer { server.stop(gracePeriod: 1) }
        // Given a request head announcing a body that never comes,
        let client = try RawHTTPClient(port: server.port, timeout: 2)
        try client.send("POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        // the refusal arrives at once, the handler never runs and the connection closes.
        XCTAssertEqual(try client.readResponse().status, 401)
        XCTAssertTrue(client.isClosedByPeer())
        XCTAssertTrue(calls.all.isEmpty)
        // With a token the same request reaches the handler.
        let ok = try RawHTTPClient(port: server.port, timeout: 2)
        try ok.send("POST /jobs HTTP/1.1\r\nHost: x\r\nAuthorization: yes\r\nContent-Length: 3\r\n\r\nabc")
        XCTAssertEqual(try ok.readResponse().text, "3")
    }

    func testHeadCheck_WithoutABody_KeepsTheConnection() throws {
        let server = HTTPServer(configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0), handler: GuardedHandler(calls: Recorder()))
        try server.start()
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port, timeout: 2)
        try client.send(RawHTTPClient.get("/a"))
        XCTAssertEqual(try client.readResponse().status, 401)
        try client.send(RawHTTPClient.get("/b", extra: "Authorization: yes\r\n"))
        XCTAssertEqual(try client.readResponse().status, 200)
    }

    func testContentLengthOverLimit_Answers413BeforeTheBodyAndCloses() throws {
        let server = try startServer({ $0.maxBodyBytes = 1000 }) { _ in text("x") }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port, timeout: 2)
        try client.send("PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 413)
        XCTAssertTrue(client.isClosedByPeer())
    }

    func testTrickledBody_IsCutAtTheWholeBodyDeadline() throws {
        let server = try startServer({ c in
            c.timeouts = .init(headerRead: 5, idle: 30, bodyRead: 5, bodyTotal: 0.5, minBodyBytesPerSecond: 1e9)
        }) { req in
            do { return text("\(try req.body.readAll(limit: 1 << 20).count)") } catch HTTPError.timeout {
                return text("body timeout", status: 408)
            } catch { return text("\(error)", status: 400) }
        }
        defer { server.stop(gracePeriod: 1) }
        let start = Date()
        let client = try RawHTTPClient(port: server.port, timeout: 3)
        try client.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        // One byte every 100 ms never trips the 5 s inactivity timeout, only the whole-body deadline.
        for _ in 0..<30 {
            do { try client.send("b") } catch { break }
            usleep(100_000)
            if Date().timeIntervalSince(start) > 1.5 { break }
        }
        let r = try client.readResponse()
        XCTAssertEqual(r.status, 408, r.text)
        XCTAssertLessThan(Date().timeIntervalSince(start), 3)
    }

    func testBodyAtAFairRate_OutlivesTheBaseDeadline() throws {
        let server = try startServer({ c in
            c.timeouts = .init(headerRead: 5, idle: 30, bodyRead: 5, bodyTotal: 0.3, minBodyBytesPerSecond: 1000)
        }) { req in text("\((try? req.body.readAll(limit: 1 << 20).count) ?? -1)") }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port, timeout: 3)
        try client.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 8000\r\n\r\n")
        // 1000 bytes every 100 ms (10 kB/s, above the 1 kB/s minimum) for 0.8 s.
        for _ in 0..<8 {
            usleep(100_000)
            try client.send(String(repeating: "b", count: 1000))
        }
        XCTAssertEqual(try client.readResponse().text, "8000")
    }
}
