import Foundation
import HTTP
import Pruning
import XCTest
@testable import Service

/// Issue 16 item 7: one validation (`PruneRequest.validate`, one set of limits) behind `POST /v1/jobs` and
/// `surgeon prune`: the same bad request gets the same message from both, before any work is accepted.
final class ValidationParityTests: XCTestCase {
    /// A bad field as JSON members and as `surgeon prune` flags, and the message both must give.
    struct Case {
        var json: String
        var flags: [String]
        var field: String
        var detail: String
    }

    static let cases: [Case] = [
        Case(json: #""shots":65"#, flags: ["--shots", "65"], field: "shots", detail: "must be an integer in 1...64, got 65"),
        Case(json: #""shots":0"#, flags: ["--shots", "0"], field: "shots", detail: "must be an integer in 1...64, got 0"),
        Case(json: #""samples":4097"#, flags: ["--samples", "4097"], field: "samples", detail: "must be an integer in 1...4096, got 4097"),
        Case(json: #""seqlen":7"#, flags: ["--seqlen", "7"], field: "seqlen", detail: "must be an integer in 8...32768, got 7"),
        Case(json: #""damp_g":-1"#, flags: ["--damp-g=-1"], field: "damp_g", detail: "must be a number in 0.0...1000000.0, got -1.0"),
        Case(json: #""max_correlate":1000001"#, flags: ["--max-correlate", "1000001"], field: "max_correlate",
             detail: "must be an integer in 0...1000000, got 1000001"),
        Case(json: #""lora_rank":65"#, flags: ["--lora-rank", "65"], field: "lora_rank", detail: "must be an integer in 0...64, got 65"),
        Case(json: #""eval_offset":-1"#, flags: ["--eval-offset=-1"], field: "eval_offset", detail: "must be an integer in 0...1000000000, got -1"),
        Case(json: #""eval_windows":3"#, flags: ["--eval-windows", "3"], field: "eval_windows", detail: "needs eval (a text to evaluate on)"),
        Case(json: #""structure":"structured","method":"wanda""#, flags: ["--structure", "structured", "--method", "wanda"], field: "method",
             detail: "wanda is defined for unstructured and 2:4 pruning only, not structured"),
        Case(json: #""memory_budget":1000"#, flags: ["--memory-budget", "1000"], field: "memory_budget",
             detail: "must be 1048576...1125899906842624 bytes (1 MiB to 1 PiB), got 1000"),
    ]

    func testTheSameBadRequest_GetsTheSameMessageFromTheAPIAndTheCLI() throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("surgeon")
        let hasCLI = FileManager.default.isExecutableFile(atPath: binary.path)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-parity-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data([7, 7, 7]).write(to: dir.appendingPathComponent("m.gguf"))
        try Data("calibration".utf8).write(to: dir.appendingPathComponent("cal.txt"))
        let h = try ServiceHarness()
        h.seedInputs()
        for c in Self.cases {
            let r = h.send("POST", "/v1/jobs", auth: h.alice,
                           json: #"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.3,\#(c.json)}"#)
            XCTAssertEqual(r.status, 422, c.json)
            let errors = (r.json["errors"] as? [[String: Any]] ?? []).map { "\($0["pointer"] ?? ""): \($0["detail"] ?? "")" }
            XCTAssertEqual(errors, ["/\(c.field): \(c.detail)"], c.json)
            XCTAssertEqual(r.json["detail"] as? String, "/\(c.field): \(c.detail)")
            guard hasCLI else { continue }
            let p = Process()
            p.executableURL = binary
            p.arguments = ["prune", "--model", dir.appendingPathComponent("m.gguf").path, "--sparsity", "0.3",
                           "--calibration", dir.appendingPathComponent("cal.txt").path, "--out", dir.appendingPathComponent("out").path] + c.flags
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            try p.run()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 64, "\(c.flags): \(text)")
            XCTAssertTrue(text.contains("invalid prune request: \(c.field): \(c.detail)\n"), "\(c.flags): \(text)")
        }
        if !hasCLI { throw XCTSkip("API half checked; no surgeon binary at \(binary.path) for the CLI half (swift build --build-tests builds it)") }
    }

    /// The limits' bounds are accepted by the API and one past them refused (the full table: PruneRequestValidationTests).
    func testAPI_AcceptsTheBoundsOfTheLimits() throws {
        let h = try ServiceHarness()
        h.seedInputs()
        for member in [#""shots":1"#, #""shots":64"#, #""seqlen":8"#, #""samples":4096"#, #""damp_g":0"#, #""max_correlate":0"#,
                       #""lora_rank":64"#, #""seed":2147483647"#] {
            _ = try h.submit(#"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.3,\#(member)}"#)
        }
        // The smallest budget passes validation; the job's plan then refuses it (a different problem).
        let small = h.send("POST", "/v1/jobs", auth: h.alice, json: #"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.3,"memory_budget":1048576}"#)
        XCTAssertEqual(small.json["code"] as? String, "memory_limit_exceeded")
        for member in [#""sparsity":0.3,"seed":2147483648"#, #""sparsity":0.3,"seed":-1"#, #""sparsity":0.3,"seqlen":32769"#,
                       #""sparsity":1"#, #""sparsity":0"#] {
            let r = h.send("POST", "/v1/jobs", auth: h.alice, json: #"{"model":"m.gguf","calibration":"cal.txt",\#(member)}"#)
            XCTAssertEqual(r.json["code"] as? String, "validation_failed", member)
        }
        XCTAssertTrue(h.service.manager.waitUntilIdle(timeout: 60))
    }
}
