import Foundation
import Model
import XCTest
@testable import Pruning

/// The low-rank correction on the real model (release test run; the model comes from scripts/setup.sh).
final class LowRankSmolLM2Tests: XCTestCase {
    static var modelPath: String { LowRankTests.root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path }
    static var calibration: String { LowRankTests.root.appendingPathComponent("../shared/data/wikitext2/valid.tokens").standardized.path }

    func requireModel() throws {
        guard FileManager.default.fileExists(atPath: Self.modelPath) else { throw XCTSkip("SmolLM2 not installed; run scripts/setup.sh") }
    }

    /// With a fifth of the q and gate rows removed, a short tune lowers the calibration loss and keeps every zero.
    func testTune_LowersCalibrationLoss_OnStructurallyPrunedSmolLM2() throws {
        try requireModel()
        var lm = try LanguageModel.load(path: Self.modelPath)
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: Self.calibration)).prefix(20_000), as: UTF8.self)
        let tokens = lm.tokenizer.encode(text)
        let seqs = [Array(tokens[100..<164]), Array(tokens[1000..<1064])]  // 2 × 64 tokens
        for id in lm.model.linearIDs where [.q, .gate].contains(lm.model[linear: id].role) {
            let (rows, cols) = (lm.model[linear: id].rows, lm.model[linear: id].cols)
            for r in stride(from: 0, to: rows, by: 5) { for c in 0..<cols { lm.model[linear: id].weight[r * cols + c] = 0 } }
        }
        let zeros = SurgeonRunner.sparsity(lm.model)
        let before = try LowRankCorrection.meanLoss(model: lm.model, sequences: seqs)
        var rng = PythonRandom(seed: 1)
        let r = try LowRankCorrection.tune(model: &lm.model, sequences: seqs, indices: [0, 1], epochs: 3,
                                           options: LowRankOptions(rank: 4), rng: &rng)
        let after = try LowRankCorrection.meanLoss(model: lm.model, sequences: seqs)
        print("SmolLM2 low-rank tune: calibration loss \(before) → \(after); \(r.summary)")
        XCTAssertLessThan(after, before)
        XCTAssertEqual(SurgeonRunner.sparsity(lm.model), zeros)
    }

    /// A two-shot structured run with the correction on reaches its target and records the tune's time.
    func testRunner_WithLowRank_ReachesTarget() throws {
        try requireModel()
        let req = PruneRequest(model: Self.modelPath, structure: .structured, sparsity: 0.1, shots: 2, calibration: Self.calibration,
                               samples: 2, seqlen: 24, seed: 100, loraRank: 2, loraEpochs: 1)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-lora-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: out) }
        final class Lines: @unchecked Sendable { var all: [String] = [] }
        let lines = Lines()
        let report = try SurgeonRunner(log: { lines.all.append($0) }).run(req, outputDirectory: out, progress: { _ in }, isCancelled: { false })
        XCTAssertEqual(report.achievedSparsity, 0.1, accuracy: 0.01)
        XCTAssertNotNil(report.shots.last?.seconds["lora"])
        XCTAssertEqual(lines.all.filter { $0.hasPrefix("low-rank") }.count, 3, lines.all.joined(separator: "\n"))
    }

    /// A run with the correction cancelled during shot 2 and resumed gives byte-identical weights to an uninterrupted
    /// run: every tune's randomness comes from a seed derived from the request seed and the shot.
    func testResume_WithLowRank_GivesIdenticalModel() throws {
        try requireModel()
        let req = PruneRequest(model: Self.modelPath, structure: .structured, sparsity: 0.1, shots: 2, calibration: Self.calibration,
                               samples: 2, seqlen: 24, seed: 100, loraRank: 2, loraEpochs: 1)
        let full = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-lora-full-\(UUID().uuidString)")
        let resumed = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-lora-resumed-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: full); try? FileManager.default.removeItem(at: resumed) }
        _ = try SurgeonRunner().run(req, outputDirectory: full, progress: { _ in }, isCancelled: { false })
        final class Flag: @unchecked Sendable { var stop = false }
        let flag = Flag()
        XCTAssertThrowsError(try SurgeonRunner().run(req, outputDirectory: resumed, progress: { p in
            if p.shot == 2 && p.phase == "lora" { flag.stop = true }  // cancelled inside shot 2's low-rank tune
        }, isCancelled: { flag.stop })) { XCTAssertTrue($0 is PruneCancelled) }
        XCTAssertEqual(ShotCheckpoint.finishedShots(in: resumed).map(\.shot), [1])
        _ = try SurgeonRunner().run(req, outputDirectory: resumed, progress: { _ in }, isCancelled: { false })
        let a = try Data(contentsOf: full.appendingPathComponent("model.safetensors"))
        let b = try Data(contentsOf: resumed.appendingPathComponent("model.safetensors"))
        XCTAssertTrue(a == b, "resumed model differs from the uninterrupted one")
    }
}
