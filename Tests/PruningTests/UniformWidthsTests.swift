import Foundation
@testable import Pruning
import XCTest

/// `--uniform`: equal widths per block chosen by cost, against brute force; and a real coupled run whose compact
/// model has a standard config.
final class UniformWidthsTests: XCTestCase {
    func blocks(seed: UInt64, count: Int = 3, ffn: Int = 24, kv: Int = 3) -> [UniformWidths.Block] {
        var rng = seed
        func r() -> Float { rng = rng &* 6364136223846793005 &+ 1442695040888963407; return Float(rng >> 40) / Float(1 << 24) }
        return (0..<count).map { _ in
            UniformWidths.Block(neuronCosts: (0..<ffn).map { _ in r() }, neuronSize: 10,
                                groupCosts: (0..<kv).map { _ in 8 * r() }, groupSize: 70)
        }
    }

    /// Every (neurons, groups) pair is enumerated directly: the choice is the cheapest of those reaching the target
    /// with the fewest neurons for their group count, within one FFN step of the smallest removal.
    func testChoiceIsTheCheapestFeasibleByBruteForce() throws {
        for seed in 1...40 as ClosedRange<UInt64> {
            let bs = blocks(seed: seed)
            let total = bs.reduce(0) { $0 + 24 * $1.neuronSize + 3 * $1.groupSize + 100 }
            let s = Double(seed % 7 + 1) / 16
            var feasible: [(cost: Double, removed: Int, f: Int, k: Int)] = []
            for k in 0...2 {
                guard let f = stride(from: 0, through: 16, by: 8).first(where: {
                    Double(bs.count * ($0 * 10 + k * 70)) >= (s * Double(total)).rounded(.up) }) else { continue }
                let cost = bs.reduce(0.0) { t, b in
                    t + b.neuronCosts.sorted().prefix(f).reduce(0.0) { $0 + Double($1) } + b.groupCosts.sorted().prefix(k).reduce(0.0) { $0 + Double($1) }
                }
                feasible.append((cost, bs.count * (f * 10 + k * 70), f, k))
            }
            let least = feasible.map(\.removed).min() ?? 0
            let best = feasible.filter { $0.removed <= least + bs.count * 8 * 10 }.min { ($0.cost, $0.removed) < ($1.cost, $1.removed) }
            if let best {
                let c = try UniformWidths.choose(blocks: bs, totalParameters: total, sparsity: s, multiple: 8)
                XCTAssertEqual(c.neurons, best.f, "seed \(seed)")
                XCTAssertEqual(c.groups, best.k, "seed \(seed)")
                XCTAssertEqual(c.cost, best.cost, accuracy: 1e-9)
                XCTAssertGreaterThanOrEqual(Double(c.removed), s * Double(total))
            } else {
                XCTAssertThrowsError(try UniformWidths.choose(blocks: bs, totalParameters: total, sparsity: s, multiple: 8))
            }
        }
    }

    /// Later shots never undo what earlier ones removed: the minimums hold even when cheaper otherwise.
    func testMinimumsFromEarlierShotsHold() throws {
        let bs = blocks(seed: 3)
        let total = bs.reduce(0) { $0 + 24 * $1.neuronSize + 3 * $1.groupSize }
        let free = try UniformWidths.choose(blocks: bs, totalParameters: total, sparsity: 0.1, multiple: 8)
        let held = try UniformWidths.choose(blocks: bs, totalParameters: total, sparsity: 0.1, multiple: 8,
                                            minNeurons: 16, minGroups: 1)
        XCTAssertGreaterThanOrEqual(held.neurons, 16)
        XCTAssertGreaterThanOrEqual(held.groups, 1)
        XCTAssertGreaterThanOrEqual(held.cost, free.cost)
    }

    func testUnreachableTargetSaysTheMaximum() {
        let bs = blocks(seed: 5)
        let total = bs.reduce(0) { $0 + 24 * $1.neuronSize + 3 * $1.groupSize }
        XCTAssertThrowsError(try UniformWidths.choose(blocks: bs, totalParameters: total, sparsity: 0.95, multiple: 8)) { e in
            guard let u = e as? UniformWidths.Unreachable else { return XCTFail("\(e)") }
            // At most 16 of 24 neurons (8 kept) and 2 of 3 groups per block.
            XCTAssertEqual(u.maximum, Double(3 * (16 * 10 + 2 * 70)) / Double(total), accuracy: 1e-12)
            XCTAssertTrue(u.description.contains("at most"), u.description)
        }
    }

    func testUniformIsRejectedOutsideCoupled() {
        var r = PruneRequest(model: "m", structure: .structured, sparsity: 0.2, calibration: "c")
        r.uniform = true
        XCTAssertThrowsError(try r.validate(checkFiles: false)) { e in
            XCTAssertTrue("\(e)".contains("uniform: equal per-layer widths apply to coupled"), "\(e)")
        }
        r.structure = .coupled
        XCTAssertNoThrow(try r.validate(checkFiles: false))
        r.uniformMultiple = 0
        XCTAssertThrowsError(try r.validate(checkFiles: false))
    }

    /// A 2-shot coupled `--uniform` request on the real model with a tiny calibration set.
    func uniformRequest(sparsity: Double) throws -> PruneRequest {
        guard FileManager.default.fileExists(atPath: SurgeonRunnerTests.modelPath) else {
            throw XCTSkip("SmolLM2 not installed; run scripts/setup.sh")
        }
        return PruneRequest(model: SurgeonRunnerTests.modelPath, structure: .coupled, sparsity: sparsity, shots: 2,
                            calibration: SurgeonRunnerTests.calibration, samples: 1, seqlen: 24, uniform: true)
    }

    /// An unreachable uniform target fails before the first shot, naming the largest reachable fraction.
    func testUnreachableUniformTargetFailsBeforeAnyShot() throws {
        let req = try uniformRequest(sparsity: 0.95)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-uniform-bad-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        final class Phases: @unchecked Sendable { var seen = Set<String>() }
        let phases = Phases()
        XCTAssertThrowsError(try SurgeonRunner().run(req, outputDirectory: out, progress: { phases.seen.insert($0.phase) },
                                                     isCancelled: { false })) { e in
            guard let u = e as? UniformWidths.Unreachable else { return XCTFail("\(e)") }
            // SmolLM2: 1528 of 1536 neurons and 2 of 3 KV groups per layer at most.
            XCTAssertGreaterThan(u.maximum, 0.8)
            XCTAssertLessThan(u.maximum, 0.95)
            XCTAssertTrue(u.description.contains("at most"), u.description)
        }
        XCTAssertFalse(phases.seen.contains("curvature"), "failed after work started: \(phases.seen)")
    }

    /// Real model, 2 shots of coupled pruning with --uniform: every block loses the same neurons count and the
    /// same whole KV groups, and the compact Hugging Face export has a standard config with those widths.
    func testUniformCoupledRun_GivesEqualWidthsAndAStandardCompactConfig() throws {
        let req = try uniformRequest(sparsity: 0.12)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-uniform-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let report = try SurgeonRunner().run(req, outputDirectory: out, progress: { _ in }, isCancelled: { false })
        XCTAssertGreaterThanOrEqual(report.achievedSparsity, 0.12)
        XCTAssertLessThan(report.achievedSparsity, 0.125, "within one FFN step (8 neurons per block) of the target")
        let path = out.appendingPathComponent("compact-hf").path
        let r = try CompactExport.run(modelPath: out.path, tokenizerFrom: req.model,
                                      options: .init(format: .hf, compact: true, uniform: true, path: path, benchSeqlen: 0))
        XCTAssertEqual(Set(r.ffnWidths).count, 1, "\(r.ffnWidths)")
        XCTAssertEqual(Set(r.headCounts).count, 1, "\(r.headCounts)")
        XCTAssertEqual(Set(r.kvHeadCounts).count, 1, "\(r.kvHeadCounts)")
        XCTAssertEqual(r.ffnWidths[0] % 8, 0)
        XCTAssertEqual(r.headCounts[0], 3 * r.kvHeadCounts[0], "whole KV groups of 3 query heads")
        // Compaction deletes what pruning removed; the count of zeros also holds the quantised model's own zeros.
        XCTAssertLessThanOrEqual(r.parametersDense - r.parametersCompact, report.removedParameters)
        XCTAssertGreaterThan(Double(r.parametersDense - r.parametersCompact), 0.995 * Double(report.removedParameters))
        let config = try String(contentsOfFile: path + "/config.json", encoding: .utf8)
        XCTAssertTrue(config.contains("\"intermediate_size\": \(r.ffnWidths[0])"), config)
        XCTAssertFalse(config.contains("surgeon_"), config)
    }
}
