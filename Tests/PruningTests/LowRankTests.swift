import Checkpoint
import Foundation
import Model
import XCTest
@testable import Pruning

/// The low-rank correction: kernels vs naive twins, adapter gradients vs finite differences of the loss on
/// the tiny Llama, a tune lowers the calibration loss and keeps every zero, and the request fields.
final class LowRankTests: XCTestCase {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The tiny Llama of the model tests with some weights zeroed: a row and a column of every Linear and
    /// about a quarter of the other elements (a mix of structured and unstructured masks).
    static func prunedTinyLlama() throws -> TransformerModel {
        let path = root.appendingPathComponent("Tests/ModelTests/Fixtures/tiny-llama").path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("tiny-llama fixture missing") }
        var model = try TransformerModel(checkpoint: CheckpointLoader.load(path: path))
        var rng = PythonRandom(seed: 7)
        for id in model.linearIDs {
            let (rows, cols) = (model[linear: id].rows, model[linear: id].cols)
            let deadRow = rng.randbelow(rows), deadCol = rng.randbelow(cols)
            for r in 0..<rows { for c in 0..<cols where r == deadRow || c == deadCol || rng.randbelow(4) == 0 {
                model[linear: id].weight[r * cols + c] = 0
            } }
        }
        return model
    }

    static func sequences(_ model: TransformerModel, count: Int, length: Int, seed: UInt64) -> [[Int32]] {
        var rng = PythonRandom(seed: seed)
        return (0..<count).map { _ in (0..<length).map { _ in Int32(rng.randbelow(model.vocabSize)) } }
    }

    static func random(_ n: Int, _ rng: inout PythonRandom, zeroEvery: Int = 0) -> [Float] {
        (0..<n).map { i in zeroEvery > 0 && i % zeroEvery == 0 ? 0 : Float(rng.gauss()) }
    }

    func testGradientKernel_MatchesNaive() {
        var rng = PythonRandom(seed: 1)
        let (t, rows, cols, rank) = (9, 13, 11, 3)
        let g = Self.random(t * rows, &rng), x = Self.random(t * cols, &rng)
        let w = Self.random(rows * cols, &rng, zeroEvery: 3), b = Self.random(rows * rank, &rng), a = Self.random(rank * cols, &rng)
        var gb = [Float](repeating: 0, count: rows * rank), ga = [Float](repeating: 0, count: rank * cols)
        var scratch = [Float](repeating: 0, count: rows * cols)
        lowRankGradients(&gb, &ga, scratch: &scratch, g, x, weight: w, b: b, a: a, t: t, rows: rows, cols: cols, rank: rank)
        let ref = lowRankGradientsNaive(gradOutput: g, input: x, weight: w, b: b, a: a, t: t, rows: rows, cols: cols, rank: rank)
        let d = max(zip(gb, ref.gradB).map { abs($0 - $1) }.max()!, zip(ga, ref.gradA).map { abs($0 - $1) }.max()!)
        print("low-rank gradient kernel vs naive: max abs difference \(d)")
        XCTAssertLessThan(d, 1e-3)
    }

    func testApplyKernel_MatchesNaive_AndKeepsZeros() {
        var rng = PythonRandom(seed: 2)
        let (rows, cols, rank) = (10, 7, 2)
        let w = Self.random(rows * cols, &rng, zeroEvery: 4)
        let bNew = Self.random(rows * rank, &rng), aNew = Self.random(rank * cols, &rng)
        let bOld = Self.random(rows * rank, &rng), aOld = Self.random(rank * cols, &rng)
        var sb = [Float](repeating: 0, count: rows * 2 * rank)
        for r in 0..<rows { for k in 0..<rank { sb[r * 2 * rank + k] = bNew[r * rank + k]; sb[r * 2 * rank + rank + k] = -bOld[r * rank + k] } }
        var out = w, scratch = [Float](repeating: 0, count: rows * cols)
        lowRankApply(&out, scratch: &scratch, stackedB: sb, stackedA: aNew + aOld, rows: rows, cols: cols, rank2: 2 * rank)
        let ref = lowRankApplyNaive(weight: w, bNew: bNew, aNew: aNew, bOld: bOld, aOld: aOld, rows: rows, cols: cols, rank: rank)
        let d = zip(out, ref).map { abs($0 - $1) }.max()!
        print("low-rank apply kernel vs naive: max abs difference \(d)")
        XCTAssertLessThan(d, 1e-4)
        for i in w.indices where w[i] == 0 { XCTAssertEqual(out[i], 0) }
    }

    /// ∂L/∂B and ∂L/∂A of `L(W0 + M∘(B·A))` against central differences, for the largest entries of every adapter.
    func testAdapterGradients_MatchFiniteDifferences_OnTinyLlama() throws {
        var model = try Self.prunedTinyLlama()
        let tokens = Self.sequences(model, count: 1, length: 16, seed: 3)[0].map(Int.init)
        var rng = PythonRandom(seed: 4)
        let adapters = LowRankCorrection.makeAdapters(model, options: LowRankOptions(rank: 2, initScale: 0.3), rng: &rng)
        let maxSize = adapters.map { $0.rows * $0.cols }.max()!
        var scratch = [Float](repeating: 0, count: maxSize)
        // non-zero B so that ∂L/∂A is not zero, installed into the weights
        for ad in adapters {
            ad.b = (0..<ad.b.count).map { _ in Float(rng.gauss() * 0.1) }
            ad.move(weight: &model[linear: ad.id].weight, fromB: [Float](repeating: 0, count: ad.b.count), fromA: ad.a, scratch: &scratch)
        }
        let index = Dictionary(uniqueKeysWithValues: adapters.enumerated().map { ($1.id, $0) })
        _ = try LowRankCorrection.gradients(model: model, adapters: adapters, index: index, tokens: tokens, scratch: &scratch)
        func loss() throws -> Double { Double(try model.forward(tokens: tokens).losses[0]) }
        let h: Float = 1e-2
        var worst = 0.0, checked = 0
        for ad in adapters {
            for isB in [true, false] {
                let grad = isB ? ad.gradB : ad.gradA
                for e in grad.indices.sorted(by: { abs(grad[$0]) > abs(grad[$1]) }).prefix(2) {
                    func nudge(_ delta: Float) {
                        let (oldB, oldA) = (ad.b, ad.a)
                        if isB { ad.b[e] += delta } else { ad.a[e] += delta }
                        ad.move(weight: &model[linear: ad.id].weight, fromB: oldB, fromA: oldA, scratch: &scratch)
                    }
                    nudge(h); let lp = try loss()
                    nudge(-2 * h); let lm = try loss()
                    nudge(h)
                    let fd = (lp - lm) / Double(2 * h)
                    worst = max(worst, abs(fd - Double(grad[e])) / max(abs(fd), 1e-3))
                    checked += 1
                }
            }
        }
        print("low-rank adapter gradients vs finite differences: \(checked) entries, worst relative error \(worst)")
        XCTAssertEqual(adapters.count, model.linearIDs.count)
        XCTAssertLessThan(worst, 3e-2)
    }

    /// A few epochs of tuning lower the mean calibration loss, and every zero of every Linear stays exactly zero.
    func testTune_LowersCalibrationLoss_AndKeepsEveryZero_OnTinyLlama() throws {
        var model = try Self.prunedTinyLlama()
        let seqs = Self.sequences(model, count: 4, length: 24, seed: 5)
        let zerosBefore = model.linearIDs.map { id in model[linear: id].weight.indices.filter { model[linear: id].weight[$0] == 0 } }
        let before = try LowRankCorrection.meanLoss(model: model, sequences: seqs)
        var rng = PythonRandom(seed: 6)
        let r = try LowRankCorrection.tune(model: &model, sequences: seqs, indices: Array(seqs.indices), epochs: 4,
                                           options: LowRankOptions(rank: 4, learningRate: 1e-3), rng: &rng)
        let after = try LowRankCorrection.meanLoss(model: model, sequences: seqs)
        print("tiny-llama low-rank tune: calibration loss \(before) → \(after); \(r.summary)")
        XCTAssertEqual(r.losses.count, 16)
        XCTAssertLessThan(after, before - 1e-3)
        let zerosAfter = model.linearIDs.map { id in model[linear: id].weight.indices.filter { model[linear: id].weight[$0] == 0 } }
        XCTAssertEqual(zerosAfter, zerosBefore)
    }

    /// Attention-only adapters leave the MLP weights untouched.
    func testTune_AttentionTargets_LeaveMLPUnchanged() throws {
        var model = try Self.prunedTinyLlama()
        let seqs = Self.sequences(model, count: 1, length: 12, seed: 8)
        let mlpBefore = model.linearIDs.filter { [.gate, .up, .down].contains(model[linear: $0].role) }.map { model[linear: $0].weight }
        let qBefore = model[linear: model.linearIDs[0]].weight
        var rng = PythonRandom(seed: 9)
        let r = try LowRankCorrection.tune(model: &model, sequences: seqs, indices: [0], epochs: 2,
                                           options: LowRankOptions(rank: 2, learningRate: 1e-3, targets: .attention), rng: &rng)
        XCTAssertEqual(r.adaptedLayers, model.blocks.count * 4)
        let mlpAfter = model.linearIDs.filter { [.gate, .up, .down].contains(model[linear: $0].role) }.map { model[linear: $0].weight }
        XCTAssertEqual(mlpAfter, mlpBefore)
        XCTAssertNotEqual(model[linear: model.linearIDs[0]].weight, qBefore)
    }

    /// The same seed gives the same tune (what makes a resumed run repeat it), and afterShot uses at least one sequence.
    func testAfterShot_IsReproducible_AndUsesAtLeastOneSequence() throws {
        let base = try Self.prunedTinyLlama()
        let seqs = Self.sequences(base, count: 3, length: 12, seed: 10)
        var req = PruneRequest(model: "m", sparsity: 0.5, shots: 2, calibration: "c", loraRank: 2)
        req.loraEpochs = 1; req.loraLearningRate = 1e-3
        var m1 = base, m2 = base
        let r1 = try LowRankCorrection.afterShot(model: &m1, calibration: seqs, request: req, shot: 1)
        let r2 = try LowRankCorrection.afterShot(model: &m2, calibration: seqs, request: req, shot: 1)
        XCTAssertEqual(r1.map(\.sequences), [r1[0].sequences])
        XCTAssertEqual(r1[0].sequences.count, 1)
        XCTAssertEqual(r1, r2.map { var x = $0; x.seconds = r1[0].seconds; return x })
        XCTAssertEqual(m1.linearIDs.map { m1[linear: $0].weight }, m2.linearIDs.map { m2[linear: $0].weight })
        var m3 = base
        let last = try LowRankCorrection.afterShot(model: &m3, calibration: seqs, request: req, shot: 2)
        XCTAssertEqual(last.map(\.kind), ["shot", "final"])
        XCTAssertEqual(last[1].losses.count, 3)
        XCTAssertNotEqual(LowRankCorrection.seed(request: 100, shot: 2, final: false), LowRankCorrection.seed(request: 100, shot: 2, final: true))
    }

    func testRequest_DecodesWithoutLowRankKeys_AndRoundTrips() throws {
        let old = #"{"model":"m","sparsity":0.3,"calibration":"c"}"#
        let r = try JSONDecoder().decode(PruneRequest.self, from: Data(old.utf8))
        XCTAssertEqual(r.loraRank, 0); XCTAssertEqual(r.loraLearningRate, 1e-4); XCTAssertEqual(r.loraEpochs, 5)
        XCTAssertEqual(r.loraSubset, 0.025); XCTAssertEqual(r.loraTargets, .all)
        let full = #"{"model":"m","sparsity":0.3,"calibration":"c","lora_rank":8,"lora_lr":0.001,"lora_epochs":2,"lora_subset":0.5,"lora_targets":"attention"}"#
        let f = try JSONDecoder().decode(PruneRequest.self, from: Data(full.utf8))
        XCTAssertEqual(f.loraRank, 8); XCTAssertEqual(f.loraLearningRate, 1e-3); XCTAssertEqual(f.loraEpochs, 2)
        XCTAssertEqual(f.loraSubset, 0.5); XCTAssertEqual(f.loraTargets, .attention)
        XCTAssertEqual(try JSONDecoder().decode(PruneRequest.self, from: JSONEncoder().encode(f)), f)
        XCTAssertNoThrow(try f.validate(checkFiles: false))
        var bad = f; bad.loraLearningRate = 0; bad.loraEpochs = -1; bad.loraSubset = 0
        XCTAssertThrowsError(try bad.validate(checkFiles: false)) { e in
            let errors = (e as! PruneRequest.Invalid).errors
            XCTAssertTrue(errors.contains { $0.hasPrefix("lora_lr:") })
            XCTAssertTrue(errors.contains { $0.hasPrefix("lora_epochs:") })
            XCTAssertTrue(errors.contains { $0.hasPrefix("lora_subset:") })
        }
    }
}
