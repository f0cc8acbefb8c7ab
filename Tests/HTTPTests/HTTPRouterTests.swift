import XCTest
@testable import HTTP

final class HTTPRouterTests: XCTestCase {
    private func makeRouter() -> HTTPRouter {
        var router = HTTPRouter()
        router.get("/v1/jobs") { _, _ in .json(200, Array("[]".utf8)) }
        router.post("/v1/jobs") { _, _ in HTTPResponse(status: 201) }
        router.get("/v1/jobs/{id}/artifacts/{name}") { _, p in .json(200, Array("\(p["id"]!) \(p["name"]!)".utf8)) }
        router.put("/v1/models/{name}", bodyLimit: .unlimited) { _, p in HTTPResponse(status: 201, body: .bytes(Array(p["name"]!.utf8))) }
        router.get("/files/{path...}") { _, p in HTTPResponse(status: 200, body: .bytes(Array(p["path"]!.utf8))) }
        return router
    }

    private func call(_ router: HTTPRouter, _ method: String, _ path: String) throws -> (Int, String, HTTPResponse) {
        let r = router.handle(HTTPRequest(method: method, target: path, path: path))
        return (r.status, String(decoding: try r.collectBody(), as: UTF8.self), r)
    }

    func testParameters_AreExtractedAndTheRouteIsLabelled() throws {
        let (status, body, response) = try call(makeRouter(), "GET", "/v1/jobs/job_1/artifacts/model.gguf")
        XCTAssertEqual(status, 200)
        XCTAssertEqual(body, "job_1 model.gguf")
        XCTAssertEqual(response.route, "/v1/jobs/{id}/artifacts/{name}")
        XCTAssertEqual(try call(makeRouter(), "GET", "/files/a/b/c.txt").1, "a/b/c.txt")
    }

    func testUnknownPath_Is404_AndWrongMethod_Is405WithAllow() throws {
        let router = makeRouter()
        let (missing, _, m) = try call(router, "GET", "/v2/nothing")
        XCTAssertEqual(missing, 404)
        XCTAssertEqual(m.headers["Content-Type"], "application/problem+json")
        let (status, _, response) = try call(router, "DELETE", "/v1/jobs")
        XCTAssertEqual(status, 405)
        XCTAssertEqual(response.headers["Allow"], "GET, POST, HEAD")
    }

    func testHead_FallsBackToGet() throws {
        XCTAssertEqual(try call(makeRouter(), "HEAD", "/v1/jobs").0, 200)
    }

    func testBodyLimit_ComesFromTheMatchingRoute() {
        let router = makeRouter()
        XCTAssertNil(router.bodyLimit(for: HTTPRequestHead(method: "PUT", target: "/v1/models/x.gguf"), default: 1024))
        XCTAssertEqual(router.bodyLimit(for: HTTPRequestHead(method: "POST", target: "/v1/jobs"), default: 1024), 1024)
    }

    func testRouterBehindTheServer_AllowsLargeUploadsOnlyWhereDeclared() throws {
        var router = HTTPRouter()
        router.put("/upload", bodyLimit: .unlimited) { req, _ in .json(200, Array("\((try? req.body.readAll(limit: 1 << 24).count) ?? -1)".utf8)) }
        router.post("/small") { req, _ in .json(200, Array("\((try? req.body.readAll(limit: 1 << 24).count) ?? -1)".utf8)) }
        let frozen = router
        let server = try startServer({ c in
            c.maxBodyBytes = 100
            c.bodyLimit = { frozen.bodyLimit(for: $0, default: 100) }
        }) { frozen.handle($0) }
        defer { server.stop(gracePeriod: 1) }
        let client = try RawHTTPClient(port: server.port)
        try client.send("PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + String(repeating: "a", count: 1000))
        XCTAssertEqual(try client.readResponse().text, "1000")
        try client.send("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        XCTAssertEqual(try client.readResponse().status, 413)
    }
}
