import XCTest
import Tensor
@testable import Pruning

final class KFACAccumulatorTests: XCTestCase {
    func testAccumulator_MatchesNaiveMeanOverBlocks() {
        var rng = TestRNG(1)
        let n = 7, t1 = 5, t2 = 9
        let x1 = rng.array(t1 * n), x2 = rng.array(t2 * n)
        let acc = KFACAccumulator(dimension: n)
        acc.add(x1, tokens: t1)
        acc.add(x2, tokens: t2)
        let f = acc.finalize()
        let ref = secondMomentNaive(x1 + x2, tokens: t1 + t2, n: n)
        let d = zip(f.data, ref).map { abs($0 - $1) }.max()!
        print("KFAC accumulate maxdiff", d)
        XCTAssertEqual(acc.tokens, t1 + t2)
        XCTAssertLessThan(d, 1e-5)
    }

    /// Per-token gradient of Θ is g āᵀ; its empirical Fisher vec(g āᵀ)vec(g āᵀ)ᵀ is exactly G ⊗ A for one token.
    func testSingleTokenFisher_EqualsKroneckerOfBalancedFactors() {
        var rng = TestRNG(2)
        let R = 3, C0 = 4, C = C0 + 1
        let abar = appendingConstantOneColumn(rng.array(C0), tokens: 1, columns: C0)  // bias: constant-1 column
        let g = rng.array(R)
        let ga = KFACAccumulator(dimension: R), aa = KFACAccumulator(dimension: C)
        ga.add(g, tokens: 1); aa.add(abar, tokens: 1)
        let cv = LayerCurvature.balanced(g: ga.finalize(), a: aa.finalize())
        let G = cv.scaledG(), A = cv.scaledA()
        var d = 0.0
        for r in 0..<R { for c in 0..<C { for r2 in 0..<R { for c2 in 0..<C {
            let fisher = Double(g[r] * abar[c]) * Double(g[r2] * abar[c2])
            d = max(d, abs(fisher - Double(G[r * R + r2] * A[c * C + c2])))
        } } } }
        print("single-token Fisher vs kron(G, A) maxdiff", d)
        XCTAssertLessThan(d, 1e-5)
        XCTAssertEqual(A[C * C - 1] / cv.aScale, 1, accuracy: 1e-6, "constant-1 input gives A[C-1, C-1] = 1 before balancing")
    }

    /// With the same input at every token, the mean per-token Fisher is (mean g gᵀ) ⊗ (ā āᵀ) = G ⊗ A.
    func testManyTokensSharingOneInput_MeanFisherEqualsKronecker() {
        var rng = TestRNG(3)
        let R = 3, C = 4, T = 6
        let a = rng.array(C)
        let gs = rng.array(T * R)
        let ga = KFACAccumulator(dimension: R), aa = KFACAccumulator(dimension: C)
        ga.add(gs, tokens: T)
        aa.add((0..<T).flatMap { _ in a }, tokens: T)
        let cv = LayerCurvature.balanced(g: ga.finalize(), a: aa.finalize())
        let G = cv.scaledG(), A = cv.scaledA()
        var d = 0.0
        for r in 0..<R { for c in 0..<C { for r2 in 0..<R { for c2 in 0..<C {
            var mean = 0.0
            for t in 0..<T { mean += Double(gs[t * R + r] * a[c]) * Double(gs[t * R + r2] * a[c2]) }
            mean /= Double(T)
            d = max(d, abs(mean - Double(G[r * R + r2] * A[c * C + c2])))
        } } } }
        print("mean Fisher vs kron(G, A) maxdiff", d)
        XCTAssertLessThan(d, 1e-5)
    }

    func testBalance_EqualizesFrobeniusNorms_AndZeroFactorZeroesBoth() {
        var rng = TestRNG(4)
        let g = SymmetricFactor(n: 3, data: randomSPD(3, rng: &rng).map { $0 * 100 })
        let a = SymmetricFactor(n: 5, data: randomSPD(5, rng: &rng))
        let cv = LayerCurvature.balanced(g: g, a: a)
        XCTAssertEqual(Double(cv.gScale) * g.frobeniusNorm, Double(cv.aScale) * a.frobeniusNorm, accuracy: 1e-4)
        XCTAssertEqual(cv.gScale * cv.aScale, 1, accuracy: 1e-5)
        let zero = LayerCurvature.balanced(g: SymmetricFactor(n: 3, data: [Float](repeating: 0, count: 9)), a: a)
        XCTAssertEqual(zero.gScale, 0); XCTAssertEqual(zero.aScale, 0)
    }

    func testSharedInputFactor_IsOneObjectWithPerLayerScales() {
        var rng = TestRNG(5)
        let a = SymmetricFactor(n: 4, data: randomSPD(4, rng: &rng))
        let q = LayerCurvature.balanced(g: SymmetricFactor(n: 4, data: randomSPD(4, rng: &rng)), a: a)
        let k = LayerCurvature.balanced(g: SymmetricFactor(n: 2, data: randomSPD(2, rng: &rng).map { $0 * 9 }), a: a)
        XCTAssertTrue(q.a === k.a)
        XCTAssertNotEqual(q.aScale, k.aScale)
    }
}
