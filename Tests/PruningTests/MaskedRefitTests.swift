import Foundation
import XCTest
import Tensor
@testable import Pruning

final class MaskedRefitTests: XCTestCase {
    /// ½⟨Δ, G_d Δ A_d⟩ over the live sub-matrix, in Double, straight from the definition.
    private func dampedQuadratic(_ theta: [Float], _ before: [Float], _ layer: PrunableLayer, live: LiveSet,
                                 dampG: Double, dampA: Double) -> Double {
        let gd = DenseOBS.damped(gather(layer.curvature.g.data, ld: layer.R, rows: live.rows, cols: live.rows), live.rows.count, dampG)
        let ad = DenseOBS.damped(gather(layer.curvature.a.data, ld: layer.C, rows: live.cols, cols: live.cols), live.cols.count, dampA)
        let w = gather(theta, ld: layer.C, rows: live.rows, cols: live.cols), w0 = gather(before, ld: layer.C, rows: live.rows, cols: live.cols)
        let kr = live.rows.count, kc = live.cols.count
        var q = 0.0
        for i in 0..<kr { for j in 0..<kc { for k in 0..<kr { for l in 0..<kc {
            q += Double(w[i * kc + j] - w0[i * kc + j]) * gd[i * kr + k] * Double(w[k * kc + l] - w0[k * kc + l]) * ad[l * kc + j]
        } } } }
        return 0.5 * q
    }

    func testRefit_ReachesTheDenseConstrainedMinimum_PinsTheMask_AndLeavesDeadRowsAlone() throws {
        var rng = TestRNG(71)
        var layer = randomLayer("w", R: 7, C: 10, rng: &rng, gScale: 30)
        let before = layer.weight.data
        // Row 2 and column 5 are dead (outside the live set); 40 % of the live entries are pruned, the rest moved.
        let live = LiveSet(rows: [0, 1, 3, 4, 5, 6], cols: [0, 1, 2, 3, 4, 6, 7, 8, 9])
        var theta = layer.weight
        for r in 0..<7 { for c in 0..<10 {
            let inLive = live.rows.contains(r) && live.cols.contains(c)
            if inLive && rng.uniform() < -0.2 { theta[r, c] = 0 } else if inLive { theta[r, c] += 0.3 * rng.uniform() }
        } }
        let start = theta.data
        let exact = try MaskedRefit.exactMinimum(theta: theta, before: before, live: live, g: layer.curvature.g, a: layer.curvature.a,
                                                 dampG: 0.1, dampA: 0.1)
        layer.weight = theta
        let out = MaskedRefit.refit(theta: &layer.weight, before: before, live: live, g: layer.curvature.g, a: layer.curvature.a,
                                    dampG: 0.1, dampA: 0.1, iterations: 500)
        let qStart = dampedQuadratic(start, before, layer, live: live, dampG: 0.1, dampA: 0.1)
        let qExact = dampedQuadratic(exact, before, layer, live: live, dampG: 0.1, dampA: 0.1)
        let qCG = dampedQuadratic(layer.weight.data, before, layer, live: live, dampG: 0.1, dampA: 0.1)
        let dw = zip(layer.weight.data, exact).map { abs($0 - $1) }.max()!
        let scale = exact.map { abs($0) }.max()!
        print("refit: q \(qStart) → CG \(qCG) (reported \(out.before) → \(out.after)), exact \(qExact); max |Δw| vs dense \(dw) of \(scale)")
        XCTAssertEqual(out.before, qStart, accuracy: 1e-4 * qStart)
        XCTAssertEqual(out.after, qCG, accuracy: 1e-3 * qStart)
        XCTAssertLessThan(qExact, 0.9 * qStart, "the perturbed start is not already the minimum")
        XCTAssertEqual(qCG, qExact, accuracy: 1e-4 * qStart)
        XCTAssertLessThanOrEqual(dw, 2e-3 * scale)
        for i in start.indices where start[i] == 0 { XCTAssertEqual(layer.weight.data[i], 0, "pinned entry \(i)") }
        for c in 0..<10 { XCTAssertEqual(layer.weight[2, c], start[2 * 10 + c]) }
        for r in 0..<7 { XCTAssertEqual(layer.weight[r, 5], start[r * 10 + 5]) }
    }

    func testRefit_NeverRaisesTheQuadratic_AtAnyIterationCount_AndZeroIterationsChangeNothing() {
        var rng = TestRNG(72)
        let layer = randomLayer("w", R: 9, C: 12, rng: &rng)
        let before = layer.weight.data
        var start = layer.weight
        for i in start.data.indices { if rng.uniform() < 0 { start.data[i] = 0 } else { start.data[i] += 0.2 * rng.uniform() } }
        let live = LiveSet(rows: Array(0..<9), cols: Array(0..<12))
        var previous = Double.infinity
        for k in [0, 1, 2, 4, 8, 16, 64] {
            var w = start
            let o = MaskedRefit.refit(theta: &w, before: before, live: live, g: layer.curvature.g, a: layer.curvature.a,
                                      dampG: 0.1, dampA: 0.1, iterations: k)
            let q = dampedQuadratic(w.data, before, layer, live: live, dampG: 0.1, dampA: 0.1)
            print("refit \(k) iterations: q \(q)")
            if k == 0 { XCTAssertEqual(w.data, start.data); XCTAssertEqual(o, .none) }
            XCTAssertLessThanOrEqual(q, previous * (1 + 1e-6))
            previous = q
        }
    }

    func testShotsWithRefit_KeepTheSameMask_AndLowerTheDampedQuadratic() throws {
        for structure in [PruneRequest.Structure.unstructured, .semi24, .structured] {
            var rng = TestRNG(73)
            let start = [randomLayer("a", R: 8, C: 12, rng: &rng), randomLayer("b", R: 12, C: 8, rng: &rng, gScale: 50)]
            let s = structure == .semi24 ? 0.5 : 0.3
            var plain = start, refitted = start
            var options = ShotOptions(structure: structure, method: .llmSurgeon, sparsity: s, maxCorrelate: 20)
            _ = try ShotPruner.run(&plain, options: options)
            options.refitIterations = 50
            let out = try ShotPruner.run(&refitted, options: options)
            let report = try XCTUnwrap(out.refit)
            print("\(structure.rawValue) refit: \(report.before) → \(report.after)")
            XCTAssertLessThan(report.after, report.before)
            for (p, r) in zip(plain, refitted) {
                XCTAssertEqual(p.weight.data.map { $0 == 0 }, r.weight.data.map { $0 == 0 }, "\(structure) \(p.name): the refit keeps the mask")
            }
            if structure == .semi24 {
                XCTAssertTrue(refitted.allSatisfy { SemiStructured.isValid($0.weight.data, R: $0.R, C: $0.C, weightColumns: $0.weightColumns) })
            }
            // The report's figures are the damped quadratic of the change, κ-scaled, summed over layers.
            var qPlain = 0.0, qRefit = 0.0
            for i in start.indices {
                let live = LiveSet(rows: Array(0..<start[i].R), cols: Array(0..<start[i].C))
                let kappa = Double(start[i].curvature.gScale * start[i].curvature.aScale)
                qPlain += kappa * dampedQuadratic(plain[i].weight.data, start[i].weight.data, start[i], live: live, dampG: 0.1, dampA: 0.1)
                qRefit += kappa * dampedQuadratic(refitted[i].weight.data, start[i].weight.data, start[i], live: live, dampG: 0.1, dampA: 0.1)
            }
            XCTAssertEqual(report.before, qPlain, accuracy: 1e-3 * qPlain)
            XCTAssertEqual(report.after, qRefit, accuracy: 1e-3 * qPlain)
        }
    }
}
