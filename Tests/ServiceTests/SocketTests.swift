import Foundation
import HTTP
import XCTest
@testable import Service

/// The service behind the real `HTTPServer` on port 0.
final class SocketTests: XCTestCase {
    func testOverARealSocket_UploadSubmitFollowSSEAndResumeADownload() throws {
        let h = try ServiceHarness()
        var config = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        let service = h.service
        config.bodyLimit = { head in service.bodyLimit(for: head) }
        let server = HTTPServer(configuration: config, handler: h.service)
        try server.start()
        defer { server.stop(gracePeriod: 1) }
        let client = RawHTTPClient(port: server.port)
        let auth = [("Authorization", h.alice)]

        // An upload larger than the server's default 1 MiB body limit.
        let model = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let up = try client.send("PUT", "/v1/models/m.gguf", headers: auth, body: model)
        XCTAssertEqual(up.status, 201, up.text)
        XCTAssertEqual(up.json["sha256"] as? String, SHA256.hex(of: model))
        XCTAssertEqual(try client.send("PUT", "/v1/texts/cal.txt", headers: auth, body: Array("text".utf8)).status, 201)

        let created = try client.send("POST", "/v1/jobs", headers: auth + [("Content-Type", "application/json")],
                                      body: Array(#"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.5,"shots":3}"#.utf8))
        XCTAssertEqual(created.status, 201, created.text)
        let id = try XCTUnwrap(created.json["id"] as? String)

        let sse = try client.send("GET", "/v1/jobs/\(id)/events", headers: auth + [("Accept", "text/event-stream")])
        XCTAssertEqual(sse.headers["content-type"], "text/event-stream")
        XCTAssertTrue(sse.text.contains("\"succeeded\""), sse.text)

        let url = "/v1/jobs/\(id)/artifacts/model.safetensors"
        let first = try client.send("GET", url, headers: auth + [("Range", "bytes=0-9999")])
        XCTAssertEqual(first.status, 206)
        let etag = try XCTUnwrap(first.headers["etag"])
        let rest = try client.send("GET", url, headers: auth + [("Range", "bytes=10000-"), ("If-Range", etag)])
        XCTAssertEqual(rest.status, 206)
        let whole = first.body + rest.body
        XCTAssertEqual(whole.count, 64 << 10)
        XCTAssertEqual("\"\(SHA256.hex(of: whole))\"", etag)

        let head = try client.send("HEAD", url, headers: auth)
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.headers["content-length"], String(64 << 10))
        XCTAssertEqual(head.body.count, 0)

        let archive = try client.send("GET", "/v1/jobs/\(id)/archive.tar.gz", headers: auth)
        XCTAssertEqual(archive.status, 200)
        XCTAssertGreaterThan(try Gzip.decompress(archive.body).count, 64 << 10)
    }
}
