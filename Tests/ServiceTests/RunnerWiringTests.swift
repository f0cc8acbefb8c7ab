import Foundation
import HTTP
import Pruning
import XCTest
@testable import Service

/// What the real runner needs from the service: its validation at submit, `update_order`, a sane
/// memory estimate for SmolLM2, and no empty uploads.
final class RunnerWiringTests: XCTestCase {
    func testRunnerRules_AreRefusedAtSubmitWithTheirFields() throws {
        let h = try ServiceHarness(start: false)
        h.seedInputs()
        let r = h.send("POST", "/v1/jobs", auth: h.alice,
                       json: #"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.3,"method":"wanda","structure":"structured","lora_rank":4}"#)
        XCTAssertEqual(r.status, 422)
        let pointers = Set((r.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["pointer"] as? String })
        XCTAssertEqual(pointers, ["/method"])
        let rank = h.send("POST", "/v1/jobs", auth: h.alice,
                          json: #"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.3,"lora_rank":65}"#)
        XCTAssertEqual(rank.status, 422)
        XCTAssertEqual((rank.json["errors"] as? [[String: Any]])?.first?["pointer"] as? String, "/lora_rank")
        let semi = h.send("POST", "/v1/jobs", auth: h.alice, json: #"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.3,"structure":"2:4"}"#)
        XCTAssertEqual(semi.status, 422)
        XCTAssertEqual((semi.json["errors"] as? [[String: Any]])?.first?["pointer"] as? String, "/sparsity")
    }

    func testUpdateOrder_IsParsedAndKeptInTheRequest() throws {
        let h = try ServiceHarness(start: false)
        h.seedInputs()
        let ok = h.send("POST", "/v1/jobs", auth: h.alice, json: #"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.3,"update_order":"sequential"}"#)
        XCTAssertEqual(ok.status, 201)
        XCTAssertEqual((ok.json["request"] as? [String: Any])?["update_order"] as? String, "sequential")
        let bad = h.send("POST", "/v1/jobs", auth: h.alice, json: #"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.3,"update_order":"sideways"}"#)
        XCTAssertEqual(bad.status, 422)
        XCTAssertEqual((bad.json["errors"] as? [[String: Any]])?.first?["pointer"] as? String, "/update_order")
    }

    /// `uniform` (coupled only) and `eval_offset` reach the request; a uniform structured job is refused at submit.
    func testUniformAndEvalOffset_AreParsedAndValidated() throws {
        let h = try ServiceHarness(start: false)
        h.seedInputs()
        let ok = h.send("POST", "/v1/jobs", auth: h.alice, json: #"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.2,"structure":"coupled","uniform":true,"uniform_multiple":16,"eval_offset":4096}"#)
        XCTAssertEqual(ok.status, 201)
        let req = ok.json["request"] as? [String: Any]
        XCTAssertEqual(req?["uniform"] as? Bool, true)
        XCTAssertEqual(req?["uniform_multiple"] as? Int, 16)
        XCTAssertEqual(req?["eval_offset"] as? Int, 4096)
        let wrong = h.send("POST", "/v1/jobs", auth: h.alice, json: #"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.2,"uniform":true}"#)
        XCTAssertEqual(wrong.status, 422)
        XCTAssertEqual((wrong.json["errors"] as? [[String: Any]])?.first?["pointer"] as? String, "/uniform")
        let notBool = h.send("POST", "/v1/jobs", auth: h.alice, json: #"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.2,"structure":"coupled","uniform":"yes"}"#)
        XCTAssertEqual(notBool.status, 422)
        XCTAssertEqual((notBool.json["errors"] as? [[String: Any]])?.first?["pointer"] as? String, "/uniform")
    }

    func testEmptyUpload_Is400AndKeepsThePreviousFile() throws {
        let h = try ServiceHarness(start: false)
        XCTAssertEqual(h.send("PUT", "/v1/texts/t.txt", auth: h.alice, body: [1, 2, 3]).status, 201)
        let r = h.send("PUT", "/v1/texts/t.txt", auth: h.alice, headers: [("Content-Length", "0")])
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(r.json["code"] as? String, "invalid_body")
        XCTAssertEqual(h.send("GET", "/v1/texts/t.txt", auth: h.alice).json["size"] as? Int, 3)
    }

    func testMalformedChunkedBody_Is400NotA500() throws {
        let h = try ServiceHarness(start: false)
        let body = HTTPBodyReader { _ in throw HTTPError.malformed("bad chunk size") }
        let r = h.service.handle(HTTPRequest(method: "POST", target: "/v1/jobs", path: "/v1/jobs",
                                             headers: HTTPHeaders([("Authorization", h.alice)]), body: body))
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(r.json["code"] as? String, "malformed_body")
    }

    /// The service's estimate is Pruning's memory plan of the uploaded model's header, under the per-job budget:
    /// in memory when that fits, streamed when only that fits.
    func testMemoryEstimate_IsThePlan_InMemoryOrStreamed() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("SmolLM2 GGUF not present (scripts/setup.sh)") }
        let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let request = PruneRequest(model: path, structure: .structured, sparsity: 0.2, calibration: "c", samples: 16, seqlen: 512)
        let roomy = MemoryEstimate(modelPath: path, modelFileBytes: size, modelName: "smollm2.gguf", request: request, budget: 16 << 30)
        let plan = try XCTUnwrap(roomy.plan)
        XCTAssertEqual(plan.mode, .inMemory)
        XCTAssertEqual(roomy.totalBytes, plan.inMemoryPeakBytes)
        let tight = MemoryEstimate(modelPath: path, modelFileBytes: size, modelName: "smollm2.gguf", request: request, budget: 3 << 29)
        XCTAssertEqual(tight.plan?.mode, .streamed)
        XCTAssertEqual(tight.totalBytes, plan.streamedPeakBytes)
        print("memory plan SmolLM2 16×512 structured: in memory \(plan.inMemoryPeakBytes >> 20) MiB, streamed \(plan.streamedPeakBytes! >> 20) MiB")
        let junk = MemoryEstimate(modelPath: "/nonexistent", modelFileBytes: 1 << 20, modelName: "x.bin", request: request, budget: 1 << 30)
        XCTAssertNil(junk.plan)
        XCTAssertGreaterThan(junk.totalBytes, 0)
    }
}
