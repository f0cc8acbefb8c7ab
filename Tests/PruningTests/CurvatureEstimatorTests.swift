import Checkpoint
import Foundation
import Model
import XCTest
@testable import Pruning

final class CurvatureEstimatorTests: XCTestCase {
    static var modelFixtures: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ModelTests/Fixtures")
    }

    /// Factors from the estimator equal each Linear's own second moments computed naively from the
    /// same backward pass: A from its input (with the constant-1 column when it has a bias), G from
    /// its output gradient, then Frobenius-balanced.
    func check(fixture: String) throws {
        let ck = try CheckpointLoader.load(path: Self.modelFixtures.appendingPathComponent(fixture).path)
        let model = try TransformerModel(checkpoint: ck)
        let sequences: [[Int32]] = [(0..<12).map { Int32(($0 * 7 + 3) % model.vocabSize) },
                                    (0..<12).map { Int32(($0 * 5 + 1) % model.vocabSize) }]
        let fast = try CurvatureEstimator.estimate(model: model, sequences: sequences, need: .kfac)

        var inputs: [LinearID: [Float]] = [:], grads: [LinearID: [Float]] = [:]
        for seq in sequences {
            _ = try model.gradients(tokens: seq.map(Int.init)) { id, input, g in
                let l = model[linear: id]
                let x = l.bias == nil ? Array(input) : appendingConstantOneColumn(Array(input), tokens: seq.count, columns: l.cols)
                inputs[id, default: []] += x
                grads[id, default: []] += Array(g)
            }
        }
        var worst: Float = 0
        for (i, id) in model.linearIDs.enumerated() {
            let l = model[linear: id]
            let t = sequences.count * 12
            let c = l.cols + (l.bias == nil ? 0 : 1)
            let a = SymmetricFactor(n: c, data: secondMomentNaive(inputs[id]!, tokens: t, n: c))
            let g = SymmetricFactor(n: l.rows, data: secondMomentNaive(grads[id]!, tokens: t, n: l.rows))
            let slow = LayerCurvature.balanced(g: g, a: a)
            for (x, y) in zip(fast[i].scaledA(), slow.scaledA()) { worst = max(worst, abs(x - y) / max(abs(y), 1e-3)) }
            for (x, y) in zip(fast[i].scaledG(), slow.scaledG()) { worst = max(worst, abs(x - y) / max(abs(y), 1e-3)) }
        }
        print("\(fixture): curvature max relative difference \(worst)")
        XCTAssertLessThan(worst, 1e-3)
    }

    func testEstimate_MatchesNaiveFactors_ForTinyLlamaWithSharedInputs() throws { try check(fixture: "tiny-llama") }

    func testEstimate_MatchesNaiveFactors_ForTinyOPTWithBiases() throws { try check(fixture: "tiny-opt") }

    func testEstimate_SharesOneInputFactorAcrossQKV() throws {
        let ck = try CheckpointLoader.load(path: Self.modelFixtures.appendingPathComponent("tiny-llama").path)
        let model = try TransformerModel(checkpoint: ck)
        let f = try CurvatureEstimator.estimate(model: model, sequences: [[1, 2, 3, 4, 5, 6]], need: .kfac)
        // Block 0: q, k, v share A; gate, up share A; o and down have their own.
        XCTAssertTrue(f[0].a === f[1].a && f[1].a === f[2].a)
        XCTAssertTrue(f[4].a === f[5].a)
        XCTAssertFalse(f[0].a === f[3].a)
        XCTAssertFalse(f[4].a === f[6].a)
    }

    /// `gradients:` measures G only for the Linears named (a coupled shot under `outputs`: o and down), bit-equal to
    /// the full pass's; the others get `G = I` and their A as measured.
    func testEstimate_OnlyTheNamedLinearsGetAMeasuredG() throws {
        let ck = try CheckpointLoader.load(path: Self.modelFixtures.appendingPathComponent("tiny-llama").path)
        let model = try TransformerModel(checkpoint: ck)
        let sequences: [[Int32]] = [[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]]
        let full = try CurvatureEstimator.estimate(model: model, sequences: sequences, need: .kfac)
        let readers = Set(model.linearIDs.indices.filter { [.o, .down].contains(model[linear: model.linearIDs[$0]].role) })
        XCTAssertFalse(readers.isEmpty)
        let part = try CurvatureEstimator.estimateWithLoss(model: model, sequences: sequences, need: .kfac, gradients: readers).layers
        for k in model.linearIDs.indices {
            if readers.contains(k) {
                XCTAssertEqual(part[k].scaledG(), full[k].scaledG()); XCTAssertEqual(part[k].scaledA(), full[k].scaledA())
            } else {
                XCTAssertTrue(part[k].g.isIdentity)
                XCTAssertEqual(part[k].a.data, full[k].a.data)
            }
        }
    }

    func testEstimate_IdentityNeedsNoData() throws {
        let ck = try CheckpointLoader.load(path: Self.modelFixtures.appendingPathComponent("tiny-opt").path)
        let model = try TransformerModel(checkpoint: ck)
        let f = try CurvatureEstimator.estimate(model: model, sequences: [], need: .identity)
        XCTAssertEqual(f.count, model.linearIDs.count)
        XCTAssertEqual(f[0].a.diagonal, [Float](repeating: 1, count: model[linear: model.linearIDs[0]].cols + 1))
    }
}
