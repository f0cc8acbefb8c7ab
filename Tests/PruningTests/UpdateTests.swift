import XCTest
import Tensor
@testable import Pruning

final class UpdateTests: XCTestCase {
    private func setup(_ seed: UInt64, R: Int, C: Int, dampG: Double, dampA: Double) throws
        -> (PrunableLayer, LayerState, DenseOBS) {
        var rng = TestRNG(seed)
        var layer = randomLayer("l", R: R, C: C, rng: &rng, gScale: 4)
        let st = try ShotPruner.prepare(&layer, method: .llmSurgeon, dampG: dampG, dampA: dampA, cache: InverseCache())
        let dense = try DenseOBS(g: layer.curvature.scaledG(), a: layer.curvature.scaledA(), R: R, C: C, dampG: dampG, dampA: dampA)
        return (layer, st, dense)
    }

    func testChunking_FollowsTheReferenceExamples() {
        XCTAssertEqual(CorrelatedUpdate.chunks(rowCounts: Array(repeating: 384, count: 12), maxCorrelate: 2000).map(\.count),
                       [1920, 1920, 768])
        let c = CorrelatedUpdate.chunks(rowCounts: Array(repeating: 2048, count: 4), maxCorrelate: 2000)
        XCTAssertEqual(c.map(\.count), [0, 2048, 2048, 2048, 2048])
        XCTAssertEqual(c.filter { $0.count > 0 }.map(\.count), [2048, 2048, 2048, 2048])
        XCTAssertEqual(CorrelatedUpdate.chunks(rowCounts: [3, 4, 5], maxCorrelate: 0).map(\.count), [12])
        XCTAssertEqual(c[1].rows, 0..<1)
    }

    func testJointChunkUpdate_MatchesDenseOBS_IncludingZeroWeights() throws {
        let R = 5, C = 4
        var (layer, st, dense) = try setup(20, R: R, C: C, dampG: 0.1, dampA: 0.01)
        layer.weight.data[7] = 0  // already zero: constrained to stay zero
        let k = [1, 2, 7, 9, 13, 18].sorted()
        var mask = [Bool](repeating: false, count: R * C)
        for p in k { mask[p] = true }
        let before = layer.weight.data
        let (_, delta) = try dense.remove(k, theta: before)
        try CorrelatedUpdate.apply(theta: &layer.weight, mask: mask, live: st.live, ginv: st.ginv.full(), ainv: st.ainv.full(),
                                   maxCorrelate: 0, layer: "l")
        let expected = (0..<R * C).map { mask[$0] ? 0 : Double(before[$0]) + delta[$0] }
        let d = maxDiff(layer.weight.data, expected)
        print("chunk update vs dense OBS maxdiff", d)
        XCTAssertLessThan(d, 1e-4)
        XCTAssertLessThan(delta.enumerated().filter { k.contains($0.offset) }.map { abs(Double(before[$0.offset]) + $0.element) }.max()!, 1e-9)
    }

    /// With several chunks, each chunk is the dense OBS update of its elements at the accumulated weights.
    func testChunkedUpdate_AccumulatesChunkByChunk() throws {
        let R = 4, C = 3
        var (layer, st, dense) = try setup(21, R: R, C: C, dampG: 0.1, dampA: 0.01)
        let k1 = [0, 2], k2 = [4, 5], k3 = [9]
        var mask = [Bool](repeating: false, count: R * C)
        for p in k1 + k2 + k3 { mask[p] = true }
        var ref = layer.weight.data.map(Double.init)
        for k in [k1, k2, k3] {
            let (_, d) = try dense.remove(k, theta: ref.map { Float($0) })
            for i in ref.indices { ref[i] += d[i] }
        }
        for p in k1 + k2 + k3 { ref[p] = 0 }
        try CorrelatedUpdate.apply(theta: &layer.weight, mask: mask, live: st.live, ginv: st.ginv.full(), ainv: st.ainv.full(),
                                   maxCorrelate: 2, layer: "l")
        let d = maxDiff(layer.weight.data, ref)
        print("chunked (addupdate) vs dense maxdiff", d)
        XCTAssertLessThan(d, 1e-4)
    }

    func testRowUpdate_MatchesDenseOBS() throws {
        let R = 5, C = 4
        var (layer, st, dense) = try setup(22, R: R, C: C, dampG: 0.01, dampA: 0.01)
        let rows = [1, 3], before = layer.weight.data
        let (_, delta) = try dense.remove(rows.flatMap { r in (0..<C).map { r * C + $0 } }, theta: before)
        try StructuredUpdate.apply(theta: &layer.weight, rows: rows, cols: [], live: st.live, ginv: st.ginv, ainv: st.ainv,
                                   order: .summed, layer: "l")
        let d = maxDiff(layer.weight.data, (0..<R * C).map { Double(before[$0]) + delta[$0] })
        print("row update vs dense maxdiff", d)
        XCTAssertLessThan(d, 1e-4)
    }

    func testColumnUpdate_MatchesDenseOBS() throws {
        let R = 4, C = 6
        var (layer, st, dense) = try setup(23, R: R, C: C, dampG: 0.01, dampA: 0.01)
        let cols = [0, 2, 5], before = layer.weight.data
        let (_, delta) = try dense.remove(cols.flatMap { c in (0..<R).map { $0 * C + c } }, theta: before)
        try StructuredUpdate.apply(theta: &layer.weight, rows: [], cols: cols, live: st.live, ginv: st.ginv, ainv: st.ainv,
                                   order: .summed, layer: "l")
        let d = maxDiff(layer.weight.data, (0..<R * C).map { Double(before[$0]) + delta[$0] })
        print("column update vs dense maxdiff", d)
        XCTAssertLessThan(d, 1e-4)
    }

    func testSummedAndSequentialUpdates_SumFromSameWeights_OrChainRowsThenColumns() throws {
        let R = 5, C = 5
        let (layer, st, dense) = try setup(24, R: R, C: C, dampG: 0.01, dampA: 0.01)
        let rows = [2], cols = [1, 4], th = layer.weight.data
        let rowIdx = rows.flatMap { r in (0..<C).map { r * C + $0 } }, colIdx = cols.flatMap { c in (0..<R).map { $0 * C + c } }
        let dr = try dense.remove(rowIdx, theta: th).delta, dc = try dense.remove(colIdx, theta: th).delta
        var summed = layer
        try StructuredUpdate.apply(theta: &summed.weight, rows: rows, cols: cols, live: st.live, ginv: st.ginv, ainv: st.ainv,
                                   order: .summed, layer: "l")
        var ref = (0..<R * C).map { Double(th[$0]) + dr[$0] + dc[$0] }
        for p in rowIdx + colIdx { ref[p] = 0 }
        XCTAssertLessThan(maxDiff(summed.weight.data, ref), 1e-4)
        var seq = layer
        try StructuredUpdate.apply(theta: &seq.weight, rows: rows, cols: cols, live: st.live, ginv: st.ginv, ainv: st.ainv,
                                   order: .sequential, layer: "l")
        var mid = (0..<R * C).map { Float(Double(th[$0]) + dr[$0]) }
        for p in rowIdx { mid[p] = 0 }
        let dc2 = try dense.remove(colIdx, theta: mid).delta
        var ref2 = (0..<R * C).map { Double(mid[$0]) + dc2[$0] }
        for p in rowIdx + colIdx { ref2[p] = 0 }
        let d = maxDiff(seq.weight.data, ref2)
        print("sequential update vs dense maxdiff", d)
        XCTAssertLessThan(d, 1e-4)
        XCTAssertGreaterThan(maxDiff(seq.weight.data, ref), 1e-6, "the two variants differ")
    }

    func testDeadRowsAndColumns_AreRemovedBeforeInvertingAndZeroed() throws {
        var rng = TestRNG(25)
        var layer = randomLayer("blk.0.mlp", R: 4, C: 5, rng: &rng)
        var g = layer.curvature.g.data
        for i in 0..<4 { g[1 * 4 + i] = 0; g[i * 4 + 1] = 0 }  // G_11 = 0: row 1 dead
        layer.curvature = .balanced(g: SymmetricFactor(n: 4, data: g), a: layer.curvature.a)
        for r in 0..<4 { layer.weight[r, 3] = 0 }                // column 3 all-zero: dead
        let st = try ShotPruner.prepare(&layer, method: .llmSurgeon, dampG: 0, dampA: 0, cache: InverseCache())
        XCTAssertEqual(st.live.rows, [0, 2, 3]); XCTAssertEqual(st.live.cols, [0, 1, 2, 4])
        XCTAssertEqual(st.ginv.n, 3)
        XCTAssertEqual((0..<5).map { layer.weight[1, $0] }, [0, 0, 0, 0, 0])
        XCTAssertEqual(st.ginvDiag[1], 0)
        let costs = ShotPruner.elementCosts(layer, st, method: .llmSurgeon)
        XCTAssertEqual(costs[1 * 5 + 2], 0)
        XCTAssertTrue(costs.allSatisfy { $0.isFinite })
    }

    func testNonFiniteFactor_ThrowsErrorNamingTheLayer() {
        var rng = TestRNG(26)
        var layer = randomLayer("blk.3.attn_q", R: 3, C: 3, rng: &rng)
        var a = layer.curvature.a.data
        a[4] = .nan
        layer.curvature = LayerCurvature(g: layer.curvature.g, a: SymmetricFactor(n: 3, data: a), gScale: 1, aScale: 1)
        var layers = [layer]
        XCTAssertThrowsError(try ShotPruner.run(&layers, options: .init(structure: .structured, method: .llmSurgeon, sparsity: 0.2))) { e in
            XCTAssertEqual(e as? PruningError, .nonFiniteFactor(layer: "blk.3.attn_q", factor: "A"))
            XCTAssertTrue("\(e)".contains("blk.3.attn_q"))
        }
    }
}
