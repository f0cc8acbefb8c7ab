import Foundation
import Pruning
import XCTest
@testable import Service

final class ModelInspectionTests: XCTestCase {
    var modelsDir: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("models")
    }

    func testRegisteredGGUF_ShowsArchitectureAndParametersAndAPlausibleEstimate() throws {
        let path = modelsDir.appendingPathComponent("SmolLM2-135M-Instruct.Q4_1.gguf").path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("model not present at \(path)") }
        let h = try ServiceHarness(configure: { $0.allowedRoots = [self.modelsDir.path] }, start: false)
        let r = h.send("POST", "/v1/models", auth: h.alice, json: "{\"name\":\"smol.gguf\",\"path\":\"\(path)\"}")
        XCTAssertEqual(r.status, 201, r.text)
        let model = try XCTUnwrap(r.json["model"] as? [String: Any])
        XCTAssertEqual(model["architecture"] as? String, "llama")
        XCTAssertEqual(model["layers"] as? Int, 30)
        XCTAssertEqual(model["hidden_size"] as? Int, 576)
        XCTAssertEqual(model["kv_heads"] as? Int, 3)
        let params = try XCTUnwrap(model["parameters"] as? Int)
        XCTAssertEqual(Double(params), 134.5e6, accuracy: 1e6)

        let info = try XCTUnwrap(h.service.models.get(owner: "alice", name: "smol.gguf"))
        let e = MemoryEstimate(modelPath: info.path, modelFileBytes: info.size, modelName: info.name,
                               request: PruneRequest(model: "smol.gguf", sparsity: 0.3, calibration: "c"), budget: 16 << 30)
        print("memory plan SmolLM2-135M, 16×512, llm-surgeon: \(e.totalBytes >> 20) MiB (\(e.plan?.mode.rawValue ?? "no plan"))")
        XCTAssertNotNil(e.plan)
        XCTAssertGreaterThan(e.totalBytes, 1 << 30)
        XCTAssertLessThan(e.totalBytes, 16 << 30)
    }

    func testCorruptGGUFUpload_IsStoredWithAnInspectionError() throws {
        let h = try ServiceHarness(start: false)
        let r = h.send("PUT", "/v1/models/bad.gguf", auth: h.alice, body: Array("GGUF".utf8) + [9, 9, 9, 9, 1, 2])
        XCTAssertEqual(r.status, 201)
        XCTAssertNil(r.json["model"])
        XCTAssertNotNil(r.json["inspection_error"] as? String)
        XCTAssertNil(h.send("PUT", "/v1/models/plain.bin", auth: h.alice, body: [1, 2, 3]).json["inspection_error"])
    }
}
