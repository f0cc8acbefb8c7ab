import XCTest
import Tensor
@testable import Pruning

final class ThresholdTests: XCTestCase {
    func testKthSmallest_MatchesSorting_WithNegativesZerosAndDuplicates() {
        var rng = TestRNG(30)
        let a = rng.array(500) + [0, -0.0, 0, 3, 3, 3], b = rng.array(77).map { $0 * 1e-30 }, c: [Float] = []
        for k in [-1, 0, 1, 17, 250, 500, 582, 583, 10_000] {
            XCTAssertEqual(kthSmallest(k, in: [a, b, c]), kthSmallestNaive(k, in: [a, b, c]), "k = \(k)")
        }
        XCTAssertNil(kthSmallest(0, in: [c]))
    }

    func testUnstructuredThreshold_PrunesIntSNPlusOneDistinctCosts() {
        var rng = TestRNG(31)
        let layers = [rng.array(300).map(abs), rng.array(211).map(abs)]
        let n = 511
        for s in [0.1, 0.37, 0.5] {
            let tau = GlobalThreshold.unstructured(costs: layers, sparsity: s)!
            let pruned = layers.flatMap { $0 }.filter { $0 <= tau }.count
            XCTAssertEqual(pruned, Int(s * Double(n)) + 1)
        }
    }

    func testSemiStructuredThreshold_UsesBlockFractionTwoS() {
        let blocks: [[Float]] = [(0..<10).map(Float.init), (10..<20).map(Float.init)]
        XCTAssertEqual(GlobalThreshold.semiStructured(blockCosts: blocks, sparsity: 0.25), 10)  // int(0.5·20) = 10
        XCTAssertEqual(GlobalThreshold.semiStructured(blockCosts: blocks, sparsity: 0.5), 19)   // clamped to N−1
    }

    func testPerLayerThresholds_ReachTheFractionInEveryMatrixAlone() {
        var rng = TestRNG(33)
        let layers = [rng.array(300).map(abs), rng.array(211).map { abs($0) * 1e3 }, rng.array(64).map(abs)]
        for s in [0.1, 0.37, 0.5] {
            let taus = GlobalThreshold.perLayer(costs: layers, sparsity: s, semi24: false)
            for (c, tau) in zip(layers, taus) {
                XCTAssertEqual(c.filter { $0 <= tau! }.count, Int(s * Double(c.count)) + 1, "unstructured s = \(s)")
            }
            let blocks = GlobalThreshold.perLayer(costs: layers, sparsity: s / 2, semi24: true)
            for (c, tau) in zip(layers, blocks) {
                XCTAssertEqual(c.filter { $0 <= tau! }.count, min(Int(s * Double(c.count)), c.count - 1) + 1, "2:4 s = \(s / 2)")
            }
            // The global threshold gives the scaled-up matrix far fewer pruned weights than its share.
            let global = GlobalThreshold.unstructured(costs: layers, sparsity: s)!
            XCTAssertLessThan(layers[1].filter { $0 <= global }.count, Int(s * 211))
        }
    }

    func testTwoCheapest_BreaksTiesByColumnIndex() {
        XCTAssertTrue(SemiStructured.twoCheapest(0, 0, 0, 0) == (0, 1))
        XCTAssertTrue(SemiStructured.twoCheapest(5, 0, 1, 0) == (1, 3))
        XCTAssertTrue(SemiStructured.twoCheapest(2, 1, 1, 3) == (1, 2))
    }

    func testStructuredThreshold_MatchesBruteForceCounting() {
        var rng = TestRNG(32)
        let layers = [GlobalThreshold.StructuredLayer(rowCosts: rng.array(6).map(abs), colCosts: rng.array(5).map(abs)),
                      GlobalThreshold.StructuredLayer(rowCosts: rng.array(4).map(abs), colCosts: rng.array(8).map(abs))]
        let total = 6 * 5 + 4 * 8
        for s in [0.1, 0.3, 0.5] {
            let tau = GlobalThreshold.structured(layers, sparsity: s)
            let brute = GlobalThreshold.structuredBruteForce(layers, sparsity: s)
            let count = GlobalThreshold.structuredCount(layers, tau: tau)
            print("structured s=\(s): τ=\(tau) brute τ=\(brute) removed \(count) ≤ \(Int(s * Double(total)))")
            XCTAssertEqual(tau, brute)
            XCTAssertLessThanOrEqual(count, Int(s * Double(total)))
        }
    }

    func testStructuredThreshold_WhenFirstStructureExceedsTarget_PrunesNothing() {
        let layers = [GlobalThreshold.StructuredLayer(rowCosts: [1, 2], colCosts: [3, 4, 5])]
        let tau = GlobalThreshold.structured(layers, sparsity: 0.1)  // target int(0.6) = 0; a row is 3 parameters
        XCTAssertEqual(tau, -.infinity)
        XCTAssertEqual(GlobalThreshold.structuredCount(layers, tau: tau), 0)
    }

    func testCoupledThreshold_MatchesBruteForce_CountingKVGroupsOnceComplete() {
        var rng = TestRNG(33)
        let costs = rng.array(9).map(abs)
        let sizes = [10, 10, 10, 10, 4, 4, 4, 4, 4]
        let group: [Int?] = [0, 0, 1, 1, nil, nil, nil, nil, nil]
        let groupSizes = [6, 6], total = 100
        func count(_ tau: Float) -> Int {
            var n = 0
            for i in costs.indices where costs[i] <= tau { n += sizes[i] }
            for g in 0..<2 where costs.indices.filter({ group[$0] == g }).allSatisfy({ costs[$0] <= tau }) { n += groupSizes[g] }
            return n
        }
        for s in [0.05, 0.2, 0.33, 0.6] {
            let tau = GlobalThreshold.coupled(costs: costs, sizes: sizes, group: group, groupMembers: [2, 2],
                                              groupSizes: groupSizes, totalParameters: total, sparsity: s)
            let target = Int(s * Double(total))
            let brute = ([-Float.infinity] + costs.sorted()).last { count($0) <= target }!
            XCTAssertEqual(tau, brute, "s = \(s)")
        }
    }
}
