import XCTest
import Tensor
@testable import Pruning

final class CostTests: XCTestCase {
    private func state(_ layer: inout PrunableLayer, dampG: Double, dampA: Double) throws -> LayerState {
        try ShotPruner.prepare(&layer, method: .llmSurgeon, dampG: dampG, dampA: dampA, cache: InverseCache())
    }

    func testElementCost_MatchesDenseOBS_RowMajorPairing() throws {
        var rng = TestRNG(10)
        var layer = randomLayer("l", R: 4, C: 3, rng: &rng, gScale: 7)
        let st = try state(&layer, dampG: 0.1, dampA: 0.01)
        let costs = ShotPruner.elementCosts(layer, st, method: .llmSurgeon)
        let dense = try DenseOBS(g: layer.curvature.scaledG(), a: layer.curvature.scaledA(), R: 4, C: 3, dampG: 0.1, dampA: 0.01)
        var d = 0.0
        for p in 0..<12 { d = max(d, abs(Double(costs[p]) - (try dense.remove([p], theta: layer.weight.data)).cost) / max(1e-6, Double(costs[p]))) }
        print("element cost rel maxdiff", d)
        XCTAssertLessThan(d, 1e-4)
    }

    func testRowAndColumnCosts_MatchDenseOBS_WithoutDamping() throws {
        var rng = TestRNG(11)
        let R = 4, C = 5
        var layer = randomLayer("l", R: R, C: C, rng: &rng, gScale: 3)
        let st = try state(&layer, dampG: 0, dampA: 0)
        let (rows, cols) = ShotPruner.rowColumnCosts(layer, st, method: .llmSurgeon)
        let dense = try DenseOBS(g: layer.curvature.scaledG(), a: layer.curvature.scaledA(), R: R, C: C, dampG: 0, dampA: 0)
        for r in 0..<R {
            let ref = try dense.remove((0..<C).map { r * C + $0 }, theta: layer.weight.data).cost
            XCTAssertEqual(Double(rows[r]), ref, accuracy: 1e-4 * ref)
        }
        for c in 0..<C {
            let ref = try dense.remove((0..<R).map { $0 * C + c }, theta: layer.weight.data).cost
            XCTAssertEqual(Double(cols[c]), ref, accuracy: 1e-4 * ref)
        }
    }

    /// With damping, the quadratic form uses the undamped A (rows) / G (columns), the marginal the damped inverse.
    func testRowAndColumnCosts_MixDampedInverseWithUndampedFactor() throws {
        var rng = TestRNG(12)
        let R = 3, C = 4
        var layer = randomLayer("l", R: R, C: C, rng: &rng)
        let st = try state(&layer, dampG: 0.5, dampA: 0.3)
        let (rows, cols) = ShotPruner.rowColumnCosts(layer, st, method: .llmSurgeon)
        let G = layer.curvature.scaledG(), A = layer.curvature.scaledA(), th = layer.weight.data
        let ginv = try SPD.inverse(DenseOBS.damped(G, R, 0.5), n: R), ainv = try SPD.inverse(DenseOBS.damped(A, C, 0.3), n: C)
        for r in 0..<R {
            var q = 0.0
            for i in 0..<C { for j in 0..<C { q += Double(th[r * C + i] * A[i * C + j] * th[r * C + j]) } }
            XCTAssertEqual(Double(rows[r]), 0.5 * q / ginv[r * R + r], accuracy: 1e-4 * abs(q / ginv[r * R + r]))
        }
        for c in 0..<C {
            var q = 0.0
            for i in 0..<R { for j in 0..<R { q += Double(th[i * C + c] * G[i * R + j] * th[j * C + c]) } }
            XCTAssertEqual(Double(cols[c]), 0.5 * q / ainv[c * C + c], accuracy: 1e-4 * abs(q / ainv[c * C + c]))
        }
    }

    func testMultiRowAndMultiColumnCosts_MatchDenseOBS() throws {
        var rng = TestRNG(13)
        let R = 5, C = 4
        var layer = randomLayer("l", R: R, C: C, rng: &rng, gScale: 2)
        let st = try state(&layer, dampG: 0, dampA: 0)
        let dense = try DenseOBS(g: layer.curvature.scaledG(), a: layer.curvature.scaledA(), R: R, C: C, dampG: 0, dampA: 0)
        var tmpR = [Float](repeating: 0, count: R), tmpC = [Float](repeating: 0, count: C)
        let ta = rowQuadraticForms(&tmpR, theta: layer.weight.data, m: layer.curvature.a.data, scale: 1, R: R, C: C)
        let gt = columnQuadraticForms(&tmpC, theta: layer.weight.data, m: layer.curvature.g.data, scale: 1, R: R, C: C)
        let rowSet = [1, 3, 4], colSet = [0, 2]
        let rc = try ShotPruner.memberCost(.init(layer: 0, axis: .rows, indices: rowSet), layer, st, product: ta, method: .llmSurgeon)
        let rref = try dense.remove(rowSet.flatMap { r in (0..<C).map { r * C + $0 } }, theta: layer.weight.data).cost
        let cc = try ShotPruner.memberCost(.init(layer: 0, axis: .columns, indices: colSet), layer, st, product: gt, method: .llmSurgeon)
        let cref = try dense.remove(colSet.flatMap { c in (0..<R).map { $0 * C + c } }, theta: layer.weight.data).cost
        print("multi-row cost", rc, rref, "multi-column cost", cc, cref)
        XCTAssertEqual(rc, rref, accuracy: 1e-4 * rref)
        XCTAssertEqual(cc, cref, accuracy: 1e-4 * cref)
    }

    func testQuadraticFormKernels_MatchNaive() {
        var rng = TestRNG(14)
        let R = 6, C = 9
        let th = rng.array(R * C), a = randomSPD(C, rng: &rng), g = randomSPD(R, rng: &rng)
        var rows = [Float](repeating: 0, count: R), cols = [Float](repeating: 0, count: C)
        _ = rowQuadraticForms(&rows, theta: th, m: a, scale: 1, R: R, C: C)
        _ = columnQuadraticForms(&cols, theta: th, m: g, scale: 1, R: R, C: C)
        let dr = zip(rows, quadraticFormsNaive(theta: th, m: a, R: R, C: C, rows: true)).map { abs($0 - $1) }.max()!
        let dc = zip(cols, quadraticFormsNaive(theta: th, m: g, R: R, C: C, rows: false)).map { abs($0 - $1) }.max()!
        print("quadratic forms maxdiff rows", dr, "cols", dc)
        XCTAssertLessThan(max(dr, dc), 1e-4)
    }

    func testKOBDAndLOBDAndMagnitudeCosts_FollowTheirFormulas() throws {
        var rng = TestRNG(15)
        let R = 3, C = 4
        var layer = randomLayer("l", R: R, C: C, rng: &rng)
        let st = try ShotPruner.prepare(&layer, method: .kobd, dampG: 0, dampA: 0, cache: InverseCache())
        let G = layer.curvature.scaledG(), A = layer.curvature.scaledA(), th = layer.weight.data
        let e = ShotPruner.elementCosts(layer, st, method: .kobd)
        XCTAssertEqual(e[1 * C + 2], 0.5 * th[6] * th[6] * G[1 * R + 1] * A[2 * C + 2], accuracy: 1e-5)
        let lobd = ShotPruner.elementCosts(layer, st, method: .lobd)
        XCTAssertEqual(lobd[6], 0.5 * th[6] * th[6] * layer.curvature.a.data[2 * C + 2], accuracy: 1e-6)
        let (mr, mc) = ShotPruner.rowColumnCosts(layer, st, method: .magnitude)
        XCTAssertEqual(mr[0], (0..<C).map { th[$0] * th[$0] }.reduce(0, +).squareRoot(), accuracy: 1e-5)
        XCTAssertEqual(mc[1], (0..<R).map { th[$0 * C + 1] * th[$0 * C + 1] }.reduce(0, +).squareRoot(), accuracy: 1e-5)
        let (kr, _) = ShotPruner.rowColumnCosts(layer, st, method: .kobd)
        var q: Float = 0
        for i in 0..<C { for j in 0..<C { q += th[2 * C + i] * A[i * C + j] * th[2 * C + j] } }
        XCTAssertEqual(kr[2], 0.5 * G[2 * R + 2] * q, accuracy: 1e-4)
    }

    /// The diagnostic `½·κ·tr(G Δ A Δᵀ)` equals `½ vec(Δ)ᵀ (G ⊗ A) vec(Δ)` with row-major vec and the scaled factors.
    func testQuadraticModel_MatchesDenseKroneckerForm() throws {
        var rng = TestRNG(21)
        let R = 5, C = 4
        var layer = randomLayer("l", R: R, C: C, rng: &rng, gScale: 3)
        let st = try state(&layer, dampG: 0.1, dampA: 0.1)
        let before = layer.weight.data
        let delta = rng.array(R * C)
        for j in delta.indices { layer.weight.data[j] += delta[j] }
        let q = ShotPruner.quadraticModel(change: before, layer, kappa: st.kappa)
        let g = layer.curvature.scaledG().map(Double.init), a = layer.curvature.scaledA().map(Double.init)
        var ref = 0.0
        for i in 0..<(R * C) { for j in 0..<(R * C) {
            let (r1, c1, r2, c2) = (i / C, i % C, j / C, j % C)
            ref += Double(delta[i]) * g[r1 * R + r2] * a[c1 * C + c2] * Double(delta[j])
        } }
        ref *= 0.5
        XCTAssertEqual(q, ref, accuracy: 1e-4 * abs(ref))
    }

    /// Without damping, OBS removal of one row is the optimal change: the quadratic model of the change it applies
    /// equals the row's cost (the OBS identity `½ΔθᵀFΔθ = ½θ_Kᵀ(E_KᵀF⁻¹E_K)⁻¹θ_K`).
    func testQuadraticModelOfOBSRowRemoval_EqualsTheRowCost() throws {
        var rng = TestRNG(22)
        let R = 6, C = 5
        var layer = randomLayer("l", R: R, C: C, rng: &rng, gScale: 2)
        let st = try state(&layer, dampG: 0, dampA: 0)
        let (rows, _) = ShotPruner.rowColumnCosts(layer, st, method: .llmSurgeon)
        let before = layer.weight.data
        let options = ShotOptions(structure: .structured, method: .llmSurgeon, sparsity: 0.1, dampG: 0, dampA: 0)
        try ShotPruner.removeRowsAndColumns(&layer, st, rows: [2], cols: [], options: options)
        let q = ShotPruner.quadraticModel(change: before, layer, kappa: st.kappa)
        XCTAssertEqual(q, Double(rows[2]), accuracy: 1e-3 * Double(rows[2]))
    }

    func testJointBlockCosts_AreTheDenseOBSCostOfEachPair_AndPickTheCheapest() throws {
        var rng = TestRNG(14)
        let R = 3, C = 8
        var layer = randomLayer("l", R: R, C: C, rng: &rng, gScale: 5)
        layer.weight[1, 5] = 0  // a weight pruned by an earlier shot
        let st = try state(&layer, dampG: 0.1, dampA: 0.1)
        let (costs, chosen) = SemiStructured.jointBlockCosts(theta: layer.weight.data, u: reciprocalOrZero(st.ginvDiag).map { $0 * st.kappa },
                                                             ainv: st.ainv.full(), liveCols: st.live.cols, R: R, C: C, weightColumns: C)
        let dense = try DenseOBS(g: layer.curvature.scaledG(), a: layer.curvature.scaledA(), R: R, C: C, dampG: 0.1, dampA: 0.1)
        let single = ShotPruner.elementCosts(layer, st, method: .llmSurgeon)
        var differsFromSum = 0
        for r in 0..<R { for b in 0..<2 {
            let p = r * C + 4 * b
            let ref = try SemiStructured.pairs.map { try dense.remove([p + $0.0, p + $0.1], theta: layer.weight.data).cost }
            let best = ref.indices.min { ref[$0] < ref[$1] }!
            XCTAssertEqual(Double(costs[r * 2 + b]), ref[best], accuracy: 1e-4 * ref[best], "row \(r) block \(b)")
            XCTAssertEqual(Int(chosen[r * 2 + b]), best, "row \(r) block \(b)")
            let (i, j) = SemiStructured.twoCheapest(single[p], single[p + 1], single[p + 2], single[p + 3])
            if SemiStructured.pairs[best] != (i, j) { differsFromSum += 1 }
        } }
        print("joint pair differs from the two cheapest single weights in \(differsFromSum) of 6 blocks")
        // Row 1's second block holds a zero: a pair with it costs the other weight alone.
        XCTAssertEqual(Double(costs[1 * 2 + 1]), (0..<4).filter { $0 != 1 }.map { Double(single[1 * C + 4 + $0]) }.min()!, accuracy: 1e-4)
    }

    func testJointTwoFourShots_KeepAValidPatternAtHalf() throws {
        var rng = TestRNG(15)
        var ls = [randomLayer("a", R: 8, C: 12, rng: &rng), randomLayer("b", R: 12, C: 8, rng: &rng, gScale: 50)]
        var options = ShotOptions(structure: .semi24, method: .llmSurgeon, sparsity: 0.25, maxCorrelate: 20)
        options.pairCost = .joint
        _ = try ShotPruner.run(&ls, options: options)
        options.sparsity = 0.5
        let out = try ShotPruner.run(&ls, options: options)
        XCTAssertEqual(out.sparsity, 0.5, accuracy: 1e-9)
        XCTAssertTrue(ls.allSatisfy { SemiStructured.isValid($0.weight.data, R: $0.R, C: $0.C, weightColumns: $0.weightColumns) })
    }
}
