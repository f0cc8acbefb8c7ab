import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest
@testable import HTTP

final class HTTPServerTests: XCTestCase {
    func testKeepAlive_ServesSeveralRequestsOnOneConnection() throws {
        let peers = Recorder<String>()
        let server = try startServer { req in peers.append(req.remoteAddress); return text("hello \(req.path)") }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        for i in 0..<3 {
            try client.send(RawHTTPClient.get("/n\(i)"))
            let r = try client.readResponse()
            XCTAssertEqual(r.status, 200)
            XCTAssertEqual(r.text, "hello /n\(i)")
            XCTAssertNil(r.headers["Connection"])
            XCTAssertNotNil(r.headers["Date"])
        }
        XCTAssertEqual(Set(peers.all).count, 1, "all three requests came over one connection")
        XCTAssertEqual(server.stats.acceptedConnections, 1)
    }

    func testConnectionClose_AndHTTP10_CloseAfterTheResponse() throws {
        let server = try startServer { _ in text("x") }
        defer { server.stop(gracePeriod: 1) }
        let a = try RawHTTPClient(port: server.port)
        try a.send(RawHTTPClient.get("/", extra: "Connection: close\r\n"))
        XCTAssertEqual(try a.readResponse().headers["Connection"], "close")
        XCTAssertTrue(a.isClosedByPeer())
        let b = try RawHTTPClient(port: server.port)
        try b.send("GET / HTTP/1.0\r\n\r\n")
        XCTAssertEqual(try b.readResponse().status, 200)
        XCTAssertTrue(b.isClosedByPeer())
        let c = try RawHTTPClient(port: server.port)
        try c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        XCTAssertEqual(try c.readResponse().headers["Connection"], "keep-alive")
    }

    func testPipelinedRequests_AreAnsweredInOrder() throws {
        let server = try startServer { req in text(req.path) }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        try client.send(RawHTTPClient.get("/a") + "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" + RawHTTPClient.get("/c"))
        XCTAssertEqual(try ["/a", "/b", "/c"].map { _ in try client.readResponse().text }, ["/a", "/b", "/c"])
    }

    func testHead_SendsHeadersWithoutBody() throws {
        let server = try startServer { _ in text("twelve bytes") }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        try client.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
        let r = try client.readResponse(head: true)
        XCTAssertEqual(r.headers["Content-Length"], "12")
        try client.send(RawHTTPClient.get("/"))
        XCTAssertEqual(try client.readResponse().text, "twelve bytes", "no stray body bytes before the next response")
    }

    func testPercentEncodedTarget_IsDecodedForTheHandler() throws {
        let server = try startServer { req in text("\(req.path)|\(req.queryValue("q") ?? "-")") }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        try client.send(RawHTTPClient.get("/a%20b/c?q=x+y%26z"))
        XCTAssertEqual(try client.readResponse().text, "/a b/c|x y&z")
        try client.send(RawHTTPClient.get("/bad%zz"))
        XCTAssertEqual(try client.readResponse().status, 400)
    }

    func testUnreadBody_IsDrainedAndTheConnectionKept() throws {
        let server = try startServer { _ in text("ignored your body") }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        try client.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + String(repeating: "z", count: 5000))
        XCTAssertEqual(try client.readResponse().status, 200)
        try client.send(RawHTTPClient.get("/again"))
        XCTAssertEqual(try client.readResponse().text, "ignored your body")
    }

    func testExpectContinue_SendsContinueWhenTheHandlerReads() throws {
        let server = try startServer { req in
            let body = (try? req.body.readAll(limit: 100)) ?? []
            return text("got \(body.count)")
        }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        try client.send("PUT /m HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        XCTAssertEqual(try client.readHead().status, 100)
        try client.send("abcd")
        XCTAssertEqual(try client.readResponse().text, "got 4")
    }

    func testExpectContinue_RefusedUpload_ClosesWithoutContinue() throws {
        let server = try startServer { _ in text("no", status: 403) }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        try client.send("PUT /m HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        let r = try client.readResponse()
        XCTAssertEqual(r.status, 403)
        XCTAssertEqual(r.headers["Connection"], "close")
    }

    func testFileBody_SendsTheRequestedRange() throws {
        let path = NSTemporaryDirectory() + "http-file-\(UUID().uuidString)"
        let content = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        _ = FileManager.default.createFile(atPath: path, contents: Data(content))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let server = try startServer { _ in HTTPResponse(status: 206, body: .file(path: path, offset: 1000, length: 250_000)) }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        try client.send(RawHTTPClient.get("/f"))
        let r = try client.readResponse()
        XCTAssertEqual(r.status, 206)
        XCTAssertEqual(r.body, Array(content[1000..<251_000]))
    }

    func testJSONBodies_AreGzippedForClientsThatAcceptIt() throws {
        let json = "[" + (0..<500).map { "{\"i\":\($0)}" }.joined(separator: ",") + "]"
        let server = try startServer { _ in text(json, type: "application/json") }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        try client.send(RawHTTPClient.get("/j", extra: "Accept-Encoding: br, gzip;q=0.8\r\n"))
        let zipped = try client.readResponse()
        XCTAssertEqual(zipped.headers["Content-Encoding"], "gzip")
        XCTAssertEqual(zipped.headers["Vary"], "Accept-Encoding")
        XCTAssertLessThan(zipped.body.count, json.utf8.count / 3)
        XCTAssertEqual(try Gzip.decompress(zipped.body), Array(json.utf8))
        try client.send(RawHTTPClient.get("/j"))
        let plain = try client.readResponse()
        XCTAssertNil(plain.headers["Content-Encoding"])
        XCTAssertEqual(plain.text, json)
    }

    func testURLSession_GetsAResponse() throws {
        let server = try startServer { _ in text("{\"ok\":true}", type: "application/json") }
        defer { server.stop(gracePeriod: 1) }
        let done = expectation(description: "response")
        let result = Recorder<String>()
        URLSession.shared.dataTask(with: URL(string: "http://127.0.0.1:\(server.port)/x")!) { data, response, _ in
            result.append("\((response as? HTTPURLResponse)?.statusCode ?? 0) \(String(decoding: data ?? Data(), as: UTF8.self))")
            done.fulfill()
        }.resume()
        wait(for: [done], timeout: 10)
        XCTAssertEqual(result.all, ["200 {\"ok\":true}"])
    }

    func testIPv6Loopback_Works() throws {
        let server = try startServer({ $0.host = "::1" }) { _ in text("six") }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port, host: "::1")
        try client.send(RawHTTPClient.get("/"))
        XCTAssertEqual(try client.readResponse().text, "six")
    }

    func testAccessLogAndMetricsHooks_SeeEveryRequest() throws {
        let entries = Recorder<HTTPAccessLogEntry>()
        let server = try startServer({ c in
            c.accessLog = { entries.append($0) }
        }) { req in var r = text("abc"); r.route = "/items/{id}"; return r }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        try client.send(RawHTTPClient.get("/items/7"))
        _ = try client.readResponse()
        server.stop(gracePeriod: 1)
        let e = try XCTUnwrap(entries.all.first)
        XCTAssertEqual(e.method, "GET"); XCTAssertEqual(e.path, "/items/7"); XCTAssertEqual(e.route, "/items/{id}")
        XCTAssertEqual(e.status, 200); XCTAssertEqual(e.bytesSent, 3)
        print("access log:", e.line)
    }

    func testStart_Twice_Throws() throws {
        let server = try startServer { _ in text("x") }
        defer { server.stop(gracePeriod: 1) }
        XCTAssertThrowsError(try server.start())
    }
}

extension HTTPServerTests {
    func testManyConcurrentClients_AllGetTheirOwnAnswers() throws {
        let server = try startServer { req in text("echo \(req.path)") }
        defer { server.stop(gracePeriod: 1) }
        let failures = Recorder<String>()
        DispatchQueue.concurrentPerform(iterations: 16) { c in
            do {
                let client = try RawHTTPClient(port: server.port)
                for i in 0..<25 {
                    try client.send(RawHTTPClient.get("/\(c)/\(i)"))
                    let r = try client.readResponse()
                    if r.text != "echo /\(c)/\(i)" { failures.append(r.text) }
                }
            } catch { failures.append("client \(c): \(error)") }
        }
        XCTAssertEqual(failures.all, [])
        server.stop(gracePeriod: 1)
        XCTAssertEqual(server.stats.requests, 400)
    }
}

extension HTTPServerTests {
    func testBadTargetWithABody_IsAnswered400_AndTheBodyIsNotTakenForTheNextRequest() throws {
        let server = try startServer { req in text("ok \(req.path)") }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        let smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
        try client.send("POST /%zz HTTP/1.1\r\nHost: x\r\nContent-Length: \(smuggled.utf8.count)\r\n\r\n\(smuggled)")
        XCTAssertEqual(try client.readResponse().status, 400)
        try client.send(RawHTTPClient.get("/next"))
        XCTAssertEqual(try client.readResponse().text, "ok /next")
    }
}

extension HTTPServerTests {
    func testWildcardIPv6Listener_AlsoServesIPv4() throws {
        let server = try startServer({ $0.host = "::" }) { req in text(req.remoteAddress.hasPrefix("[") ? "v6" : "v4") }
        defer { server.stop(gracePeriod: 1) }
        let six = try RawHTTPClient(port: server.port, host: "::1")
        try six.send(RawHTTPClient.get("/"))
        XCTAssertEqual(try six.readResponse().text, "v6")
        let four = try RawHTTPClient(port: server.port, host: "127.0.0.1")
        try four.send(RawHTTPClient.get("/"))
        XCTAssertEqual(try four.readResponse().text, "v4", "IPv4-mapped addresses are reported as IPv4")
    }
}
