import Foundation
import HTTP
import XCTest
@testable import Service
#if canImport(Glibc)
import Glibc
#endif

/// Abuse over real sockets against the service behind `HTTPServer` on port 0: bodies that would crash
/// the decoder, labels that would grow the metrics, connections and bodies held open without a token.
final class HardeningHTTPTests: XCTestCase {
    /// The harness's service behind a server with `configure`d limits (and the service's body limits).
    private func serve(_ h: ServiceHarness, _ configure: (inout HTTPServerConfiguration) -> Void = { _ in }) throws -> HTTPServer {
        var config = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        let service = h.service
        config.bodyLimit = { head in service.bodyLimit(for: head) }
        configure(&config)
        let server = HTTPServer(configuration: config, handler: h.service)
        try server.start()
        return server
    }

    func testDeeplyNestedJSON_Is400OnEveryJSONRoute_AndTheServerStaysUp() throws {
        let h = try ServiceHarness()
        let server = try serve(h)
        defer { server.stop(gracePeriod: 1) }
        let deep = String(repeating: #"{"a":"#, count: 320) + "1" + String(repeating: "}", count: 320)
        XCTAssertLessThan(deep.utf8.count, 2048)
        for route in ["/v1/jobs", "/v1/models", "/v1/texts"] {
            let c = try Conn(port: server.port)
            let r = try c.exchange("POST", route, headers: [("Authorization", h.alice), ("Content-Type", "application/json")],
                                   body: Array(deep.utf8))
            XCTAssertEqual(r.status, 400, r.text)
            XCTAssertTrue(r.text.contains("urn:surgeon:problem:json_too_deep"), r.text)
        }
        let arrays = String(repeating: "[", count: 5000)   // unbalanced, also refused before decoding
        XCTAssertEqual(try Conn(port: server.port).exchange("POST", "/v1/jobs", headers: [("Authorization", h.alice)],
                                                           body: Array(arrays.utf8)).status, 400)
        // Brackets inside strings do not count; a shallow body reaches validation (422).
        let inString = #"{"model":"\#(String(repeating: "[{", count: 300))\"","sparsity":0.3}"#
        let v = try Conn(port: server.port).exchange("POST", "/v1/jobs", headers: [("Authorization", h.alice)], body: Array(inString.utf8))
        XCTAssertEqual(v.status, 422, v.text)
        XCTAssertEqual(try Conn(port: server.port).exchange("GET", "/healthz").status, 200)
    }

    func testManyDistinctMethodStrings_KeepMetricsSmallAndLabelsFixed() throws {
        let h = try ServiceHarness()
        let server = try serve(h)
        defer { server.stop(gracePeriod: 1) }
        let c = try Conn(port: server.port, keepAlive: true)
        for i in 0..<500 {
            let r = try c.exchange("M\(i)X", i % 2 == 0 ? "/v1/jobs" : "/nowhere/\(i)")
            XCTAssertTrue(r.status == 404 || r.status == 405, "\(r.status)")
        }
        let metrics = try Conn(port: server.port).exchange("GET", "/metrics")
        XCTAssertEqual(metrics.status, 200)
        let series = metrics.text.split(separator: "\n").filter { $0.hasPrefix("surgeon_http_requests_total{") }
        XCTAssertLessThanOrEqual(series.count, 4, series.joined(separator: "\n"))
        XCTAssertLessThan(metrics.body.count, 16 * 1024)
        XCTAssertTrue(metrics.text.contains(#"surgeon_http_requests_total{route="unmatched",method="other",status="404"} 250"#), metrics.text)
        XCTAssertTrue(metrics.text.contains(#"surgeon_http_requests_total{route="unmatched",method="other",status="405"} 250"#), metrics.text)
        XCTAssertFalse(metrics.text.contains("M1X"))
    }

    func testIdleConnectionsFillingTheServer_LeaveHealthzAnswering() throws {
        let h = try ServiceHarness()
        let server = try serve(h) { $0.maxConnections = 16 }
        defer { server.stop(gracePeriod: 1) }
        // Given as many connections as the server allows, none of which sends a byte,
        let idle = try (0..<16).map { _ in try Conn(port: server.port) }
        usleep(200_000)
        // a new client's health check is answered, and so is one from another address.
        XCTAssertEqual(try Conn(port: server.port).exchange("GET", "/healthz").status, 200)
        XCTAssertEqual(try Conn(port: server.port, from: "127.0.0.2").exchange("GET", "/healthz").status, 200)
        withExtendedLifetime(idle) {}
    }

    func testBodyWithoutToken_Gets401BeforeTheBodyIsSent() throws {
        let h = try ServiceHarness()
        let server = try serve(h)
        defer { server.stop(gracePeriod: 1) }
        for (method, route) in [("POST", "/v1/jobs"), ("PUT", "/v1/models/big.gguf"), ("PUT", "/v1/texts/t.txt")] {
            // Given a head announcing a body, and no body yet,
            let c = try Conn(port: server.port, timeout: 3)
            try c.sendHead(method, route, headers: [("Content-Length", "100000")])
            // the 401 comes at once (the old server waited for the body), and the connection closes.
            let r = try c.readResponse()
            XCTAssertEqual(r.status, 401, route)
            XCTAssertEqual(r.headers["www-authenticate"], "Bearer realm=\"surgeon\"")
            XCTAssertEqual(r.headers["connection"], "close")
            XCTAssertTrue(c.isClosedByPeer(), route)
        }
        // A bad token is refused the same way.
        let c = try Conn(port: server.port, timeout: 3)
        try c.sendHead("POST", "/v1/jobs", headers: [("Authorization", "Bearer nope"), ("Content-Length", "100000")])
        XCTAssertEqual(try c.readResponse().status, 401)
        let metrics = try Conn(port: server.port).exchange("GET", "/metrics").text
        XCTAssertTrue(metrics.contains(#"surgeon_http_requests_total{route="/v1/jobs",method="POST",status="401"} 2"#), metrics)
    }

    func testTrickledBodyWithToken_HitsTheBodyDeadline() throws {
        let h = try ServiceHarness()
        let server = try serve(h) { $0.timeouts = .init(bodyRead: 5, bodyTotal: 0.5, minBodyBytesPerSecond: 1e9) }
        defer { server.stop(gracePeriod: 1) }
        let start = Date()
        let c = try Conn(port: server.port, timeout: 3)
        try c.sendHead("POST", "/v1/jobs", headers: [("Authorization", h.alice), ("Content-Length", "1000")])
        for _ in 0..<30 {
            do { try c.send(Array("b".utf8)) } catch { break }
            usleep(100_000)
            if Date().timeIntervalSince(start) > 1.5 { break }
        }
        let r = try c.readResponse()
        XCTAssertEqual(r.status, 408, r.text)
        XCTAssertTrue(r.text.contains("body_timeout"), r.text)
        XCTAssertLessThan(Date().timeIntervalSince(start), 3)
        XCTAssertEqual(try Conn(port: server.port).exchange("GET", "/healthz").status, 200)
    }

    func testContentLengthOverTheJSONLimit_Is413BeforeTheBody() throws {
        let h = try ServiceHarness(configure: { $0.maxJSONBytes = 1000 })
        let server = try serve(h)
        defer { server.stop(gracePeriod: 1) }
        let c = try Conn(port: server.port, timeout: 3)
        try c.sendHead("POST", "/v1/jobs", headers: [("Authorization", h.alice), ("Content-Length", "50000")])
        XCTAssertEqual(try c.readResponse().status, 413)
        XCTAssertTrue(c.isClosedByPeer())
    }
}

/// One client connection with a receive timeout, optionally from another loopback address.
private final class Conn {
    struct Reply {
        var status: Int
        var headers: [String: String]   // lower-cased names
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }
    struct Closed: Error {}

    let fd: Int32
    let keepAlive: Bool
    private var buffer: [UInt8] = []

    init(port: Int, timeout: Double = 5, keepAlive: Bool = false, from: String? = nil) throws {
        self.keepAlive = keepAlive
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        if let from {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(from)
            let rc = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard rc == 0 else { close(fd); throw Closed() }
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { close(fd); throw Closed() }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Closed() }
            done += n
        }
    }

    func sendHead(_ method: String, _ target: String, headers: [(String, String)] = []) throws {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(keepAlive ? "" : "Connection: close\r\n")"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        try send(Array((head + "\r\n").utf8))
    }

    func exchange(_ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8] = []) throws -> Reply {
        try sendHead(method, target, headers: headers + (body.isEmpty ? [] : [("Content-Length", String(body.count))]))
        try send(body)
        return try readResponse()
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw Closed() }
        buffer += chunk[0..<n]
    }

    /// A response with a Content-Length body (what the service sends for these requests).
    func readResponse() throws -> Reply {
        var end: Int?
        while end == nil {
            end = buffer.count < 4 ? nil : (0...(buffer.count - 4)).first { buffer[$0] == 13 && buffer[$0 + 1] == 10 && buffer[$0 + 2] == 13 && buffer[$0 + 3] == 10 }
            if end == nil { try fill() }
        }
        let lines = String(decoding: buffer[0..<end!], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        buffer.removeFirst(end! + 4)
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while buffer.count < length { try fill() }
        let body = Array(buffer[0..<length])
        buffer.removeFirst(length)
        return Reply(status: status, headers: headers, body: body)
    }

    /// True when the server closed the connection (EOF) before the receive timeout.
    func isClosedByPeer() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }
}
