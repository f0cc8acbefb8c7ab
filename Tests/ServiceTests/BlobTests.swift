import Foundation
import HTTP
import XCTest
@testable import Service

final class BlobTests: XCTestCase {
    func tmpFiles(_ h: ServiceHarness) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: h.dataDir.appendingPathComponent("tmp").path)) ?? [])
    }

    func testUpload_StoresFileWithSha256_201ThenReplace200() throws {
        let h = try ServiceHarness()
        let body = Array("model bytes".utf8)
        let r = h.send("PUT", "/v1/models/a.gguf", auth: h.alice, body: body)
        XCTAssertEqual(r.status, 201)
        XCTAssertEqual(r.headers["Location"], "/v1/models/a.gguf")
        XCTAssertEqual(r.json["sha256"] as? String, SHA256.hex(of: body))
        XCTAssertEqual(r.json["size"] as? Int, body.count)
        XCTAssertNil(r.json["path"], "server paths are not shown")
        XCTAssertEqual(h.send("PUT", "/v1/models/a.gguf", auth: h.alice, body: [1, 2, 3]).status, 200)
        XCTAssertEqual(h.send("GET", "/v1/models/a.gguf", auth: h.alice).json["size"] as? Int, 3)
        XCTAssertEqual((h.send("GET", "/v1/models", auth: h.alice).json["data"] as? [Any])?.count, 1)
        XCTAssertEqual(h.send("DELETE", "/v1/models/a.gguf", auth: h.alice).status, 204)
        XCTAssertEqual(h.send("GET", "/v1/models/a.gguf", auth: h.alice).status, 404)
        XCTAssertEqual(tmpFiles(h), [])
    }

    func testUploadOverTheLimit_Is413AndStoresNothing() throws {
        let h = try ServiceHarness(configure: { $0.maxUploadBytes = 100 })
        XCTAssertEqual(h.send("PUT", "/v1/texts/t.txt", auth: h.alice, body: Array(repeating: 1, count: 50)).status, 201)
        // No Content-Length: the limit is enforced while reading.
        let r = h.service.handle(.init(method: "PUT", target: "/v1/texts/t.txt", path: "/v1/texts/t.txt",
                                       headers: .init([("Authorization", h.alice)]), body: .bytes(Array(repeating: 2, count: 5000))))
        XCTAssertEqual(r.status, 413)
        XCTAssertEqual(r.json["code"] as? String, "payload_too_large")
        XCTAssertEqual(h.send("GET", "/v1/texts/t.txt", auth: h.alice).json["size"] as? Int, 50, "the stored file is untouched")
        XCTAssertEqual(tmpFiles(h), [])
    }

    func testDiskFullDuringUpload_Is507AndKeepsThePreviousFile() throws {
        let h = try ServiceHarness()
        XCTAssertEqual(h.send("PUT", "/v1/models/a.gguf", auth: h.alice, body: Array(repeating: 1, count: 10)).status, 201)
        h.service.models.failWritesAfterBytes = 1 << 20
        let r = h.send("PUT", "/v1/models/a.gguf", auth: h.alice, body: Array(repeating: 2, count: 3 << 20))
        XCTAssertEqual(r.status, 507)
        XCTAssertEqual(r.json["code"] as? String, "insufficient_storage")
        XCTAssertEqual(tmpFiles(h), [], "the temp file is removed")
        let kept = try XCTUnwrap(h.service.models.get(owner: "alice", name: "a.gguf"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: kept.path)), Data(repeating: 1, count: 10))
    }

    func testBadNames_Are400() throws {
        let h = try ServiceHarness()
        for name in ["..", ".hidden", "a..b", "-x", String(repeating: "a", count: 129)] {
            XCTAssertEqual(h.send("PUT", "/v1/models/\(name)", auth: h.alice, body: [1]).status, 400, name)
        }
        XCTAssertEqual(h.send("PUT", "/v1/models/a/../b", auth: h.alice, body: [1]).status, 404)
    }

    func testRegister_AcceptsFilesInsideRootsOnly() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-roots-\(UUID().uuidString)")
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-outside-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root); try? FileManager.default.removeItem(at: outside) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        try Data("inside".utf8).write(to: root.appendingPathComponent("m.gguf"))
        try Data("secret".utf8).write(to: outside.appendingPathComponent("s.gguf"))
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("link.gguf").path,
                                                   withDestinationPath: outside.appendingPathComponent("s.gguf").path)
        let h = try ServiceHarness(configure: { $0.allowedRoots = [root.path] })
        func register(_ name: String, _ path: String) -> HTTPResponseStatus {
            HTTPResponseStatus(h.send("POST", "/v1/models", auth: h.alice, json: "{\"name\":\"\(name)\",\"path\":\"\(path)\"}"))
        }
        XCTAssertEqual(register("ok.gguf", root.appendingPathComponent("m.gguf").path).status, 201)
        XCTAssertEqual(register("ok.gguf", root.appendingPathComponent("m.gguf").path).status, 409)
        XCTAssertEqual(register("esc.gguf", root.path + "/../" + outside.lastPathComponent + "/s.gguf").status, 403)
        XCTAssertEqual(register("sym.gguf", root.appendingPathComponent("link.gguf").path).code, "path_not_allowed")
        XCTAssertEqual(register("dir.gguf", root.path).status, 403, "refused like any other path (InformationLeakTests)")
        XCTAssertEqual(register("none.gguf", root.appendingPathComponent("missing").path).status, 403)
        XCTAssertEqual(h.send("GET", "/v1/models/ok.gguf", auth: h.alice).json["sha256"] as? String, SHA256.hex(of: Array("inside".utf8)))
        let bad = h.send("POST", "/v1/models", auth: h.alice, json: #"{"nom":"x"}"#)
        XCTAssertEqual((bad.json["errors"] as? [[String: Any]])?.compactMap { $0["pointer"] as? String }.sorted(), ["/name", "/nom", "/path"])
    }
}

struct HTTPResponseStatus {
    var status: Int
    var code: String?
    init(_ r: HTTP.HTTPResponse) { status = r.status; code = r.json["code"] as? String }
}
