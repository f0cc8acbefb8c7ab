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

    /// With query heads removable inside kept KV groups (3 heads per group), every (neurons, groups, heads) triple
    /// and every choice of removed groups is enumerated directly: the choice is the cheapest reaching the target.
    func testChoiceWithHeadsPerGroup_IsTheCheapestFeasibleByBruteForce() throws {
        var rng: UInt64 = 99
        func r() -> Float { rng = rng &* 6364136223846793005 &+ 1442695040888963407; return Float(rng >> 40) / Float(1 << 24) }
        var usedHeads = 0
        for seed in 1...40 as ClosedRange<UInt64> {
            let bs: [UniformWidths.Block] = (0..<3).map { _ in
                let heads = (0..<3).map { _ in (0..<3).map { _ in 3 * r() } }
                return UniformWidths.Block(neuronCosts: (0..<24).map { _ in r() }, neuronSize: 10,
                                           groupCosts: heads.map { $0.reduce(0, +) }, groupSize: 70, headCosts: heads, headSize: 20)
            }
            let total = bs.reduce(0) { $0 + 24 * $1.neuronSize + 3 * $1.groupSize + 100 }
            let s = Double(seed % 7 + 1) / 16
            let subsets: [[Int]] = [[], [0], [1], [2], [0, 1], [0, 2], [1, 2]]
            var feasible: [(cost: Double, removed: Int, f: Int, k: Int, h: Int)] = []
            for k in 0...2 { for h in 0...2 {
                let per = k * 70 + (3 - k) * h * 20
                guard let f = stride(from: 0, through: 16, by: 8).first(where: {
                    Double(bs.count * ($0 * 10 + per)) >= (s * Double(total)).rounded(.up) }) else { continue }
                var cost = 0.0
                for b in bs {
                    cost += b.neuronCosts.sorted().prefix(f).reduce(0.0) { $0 + Double($1) }
                    cost += subsets.filter { $0.count == k }.map { removed in
                        (0..<3).reduce(0.0) { t, g in
                            t + (removed.contains(g) ? Double(b.groupCosts[g]) : b.headCosts[g].sorted().prefix(h).reduce(0.0) { $0 + Double($1) })
                        }
                    }.min()!
                }
                feasible.append((cost, bs.count * (f * 10 + per), f, k, h))
            } }
            let least = feasible.map(\.removed).min() ?? 0
            let best = feasible.filter { $0.removed <= least + bs.count * 8 * 10 }
                .min { ($0.cost, $0.removed, $0.k, $0.h) < ($1.cost, $1.removed, $1.k, $1.h) }
            guard let best else {
                XCTAssertThrowsError(try UniformWidths.choose(blocks: bs, totalParameters: total, sparsity: s, multiple: 8)); continue
            }
            let c = try UniformWidths.choose(blocks: bs, totalParameters: total, sparsity: s, multiple: 8)
            XCTAssertEqual([c.neurons, c.groups, c.heads], [best.f, best.k, best.h], "seed \(seed)")
            XCTAssertEqual(c.cost, best.cost, accuracy: 1e-6)
            XCTAssertGreaterThanOrEqual(Double(c.removed), s * Double(total))
            if c.heads > 0 { usedHeads += 1 }
        }
        print("choices that remove heads inside kept groups: \(usedHeads) of 40")
        XCTAssertGreaterThan(usedHeads, 0, "the finer step is used")
    }

    /// A head an earlier shot removed stays removed: a kept group that lost one forces at least one head per group.
    func testHeadsRemovedByEarlierShots_StayRemoved() throws {
        let heads: [[Float]] = [[5, 5, 5], [5, 5, 5], [5, 5, 5]]
        let gone = [[false, true, false], [false, false, false], [false, false, false]]
        let b = UniformWidths.Block(neuronCosts: [Float](repeating: 0.001, count: 24), neuronSize: 10, groupCosts: [15, 15, 15],
                                    groupSize: 70, headCosts: heads, headSize: 20, headGone: gone)
        XCTAssertNil(b.selection(groups: 0, heads: 0), "group 0 keeps its removed head's slot only with h ≥ 1")
        let pick = try XCTUnwrap(b.selection(groups: 0, heads: 1))
        XCTAssertEqual(pick.heads[0], [1])
        let c = try UniformWidths.choose(blocks: [b, b], totalParameters: 2 * (240 + 210), sparsity: 0.05, multiple: 8)
        XCTAssertTrue(c.heads >= 1 || c.groups >= 1, "\(c)")
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
        let req = try uniformRequest(sparsity: 0.97)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-uniform-bad-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        final class Phases: @unchecked Sendable { var seen = Set<String>() }
        let phases = Phases()
        XCTAssertThrowsError(try SurgeonRunner().run(req, outputDirectory: out, progress: { phases.seen.insert($0.phase) },
                                                     isCancelled: { false })) { e in
            guard let u = e as? UniformWidths.Unreachable else { return XCTFail("\(e)") }
            // SmolLM2, per layer at most: 1528 of 1536 neurons, 2 of 3 KV groups and 2 of the kept group's 3 query
            // heads: (2,640,384 + 2·294,912 + 147,456) / 3,538,944 = 0.9544 of the prunable parameters.
            XCTAssertEqual(u.maximum, 3_377_664.0 / 3_538_944.0, accuracy: 1e-9)
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
        // Within two FFN steps (8 neurons per block each) of the target: the fewest neurons reaching it overshoot by
        // less than one step, and candidates within one step of the smallest removal compete on cost.
        let step = Double(30 * 8 * 3 * 576) / Double(report.prunableParameters)
        XCTAssertLessThan(report.achievedSparsity, 0.12 + 2 * step)
        let path = out.appendingPathComponent("compact-hf").path
        let r = try CompactExport.run(modelPath: out.path, tokenizerFrom: req.model,
                                      options: .init(format: .hf, compact: true, uniform: true, path: path, benchSeqlen: 0))
        XCTAssertEqual(Set(r.ffnWidths).count, 1, "\(r.ffnWidths)")
        XCTAssertEqual(Set(r.headCounts).count, 1, "\(r.headCounts)")
        XCTAssertEqual(Set(r.kvHeadCounts).count, 1, "\(r.kvHeadCounts)")
        XCTAssertEqual(r.ffnWidths[0] % 8, 0)
        XCTAssertEqual(r.headCounts[0] % r.kvHeadCounts[0], 0, "equal KV groups")
        // Compaction deletes what pruning removed; the count of zeros also holds the quantised model's own zeros.
        XCTAssertLessThanOrEqual(r.parametersDense - r.parametersCompact, report.removedParameters)
        XCTAssertGreaterThan(Double(r.parametersDense - r.parametersCompact), 0.995 * Double(report.removedParameters))
        let config = try String(contentsOfFile: path + "/config.json", encoding: .utf8)
        XCTAssertTrue(config.contains("\"intermediate_size\": \(r.ffnWidths[0])"), config)
        XCTAssertFalse(config.contains("surgeon_"), config)
    }
}
