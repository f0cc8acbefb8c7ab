import XCTest
import Tensor
@testable import Pruning

final class InverseFactorTests: XCTestCase {
    func testInverseFactor_VVTransposeEqualsCholeskyInverse() throws {
        var rng = TestRNG(80)
        let n = 9
        let m = randomSPD(n, rng: &rng).map(Double.init)
        let v = try SPD.inverseFactor(m, n: n)
        let inv = try SPD.inverse(m, n: n)
        var d = 0.0
        for i in 0..<n { for j in 0..<n {
            var s = 0.0
            for k in 0..<n { s += v[i * n + k] * v[j * n + k] }
            d = max(d, abs(s - inv[i * n + j]))
            if j < i { XCTAssertEqual(v[i * n + j], 0) }
        } }
        print("V Vᵀ vs inverse maxdiff", d)
        XCTAssertLessThan(d, 1e-10)
    }

    func testFactoredAndDenseDampedInverses_AgreeOnDiagonalBlocksAndColumns() throws {
        var rng = TestRNG(81)
        let f = SymmetricFactor(n: 8, data: randomSPD(8, rng: &rng))
        let live = [0, 2, 3, 5, 7]
        let dense = try InverseFactor(f, live: live, damping: 0.1, factored: false)
        let fact = try InverseFactor(f, live: live, damping: 0.1, factored: true)
        let d1 = zip(dense.diagonal, fact.diagonal).map { abs($0 - $1) }.max()!
        let d2 = zip(dense.block([1, 4], [0, 1, 3]), fact.block([1, 4], [0, 1, 3])).map { abs($0 - $1) }.max()!
        let d3 = zip(dense.full(), fact.full()).map { abs($0 - $1) }.max()!
        let d4 = zip(dense.columns([4, 0]), fact.columns([4, 0])).map { abs($0 - $1) }.max()!
        let d5 = zip(dense.rowBlock([3, 1]), fact.rowBlock([3, 1])).map { abs($0 - $1) }.max()!
        print("factored vs dense inverse maxdiff", d1, d2, d3, d4, d5)
        XCTAssertLessThan(max(d1, d2, d3, d4, d5), 1e-5)
        XCTAssertEqual(fact[2, 3], dense[2, 3], accuracy: 1e-5)
    }

    func testStructuredShot_FactoredInverseGivesTheDenseResult() throws {
        var rng = TestRNG(82)
        let base = randomLayer("l", R: 7, C: 6, rng: &rng)
        var results: [[Float]] = []
        for factored in [false, true] {
            var layer = base
            let st = try ShotPruner.prepare(&layer, method: .llmSurgeon, dampG: 0.01, dampA: 0.01, cache: InverseCache(),
                                            factored: factored)
            try StructuredUpdate.apply(theta: &layer.weight, rows: [1, 5], cols: [0, 3], live: st.live, ginv: st.ginv,
                                       ainv: st.ainv, order: .summed, layer: "l")
            results.append(layer.weight.data)
        }
        let d = zip(results[0], results[1]).map { abs($0 - $1) }.max()!
        print("structured update factored vs dense maxdiff", d)
        XCTAssertLessThan(d, 1e-4)
    }
}
