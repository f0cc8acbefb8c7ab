import Foundation
import XCTest
import Tensor
@testable import Pruning

final class ShotPrunerTests: XCTestCase {
    private func layers(_ seed: UInt64) -> [PrunableLayer] {
        var rng = TestRNG(seed)
        return [randomLayer("a", R: 8, C: 12, rng: &rng), randomLayer("b", R: 12, C: 8, rng: &rng, gScale: 50),
                randomLayer("c", R: 6, C: 16, rng: &rng)]
    }

    func testEveryMethodAndStructure_RemovesAboutTheTargetFraction() throws {
        for method in PruneRequest.Method.allCases {
            for structure in [PruneRequest.Structure.unstructured, .semi24, .structured] {
                if (method == .wanda || method == .sparsegpt) && structure == .structured { continue }
                var ls = layers(50)
                let s = structure == .semi24 ? 0.5 : 0.3
                let out = try ShotPruner.run(&ls, options: .init(structure: structure, method: method, sparsity: s, maxCorrelate: 20))
                print("\(method.rawValue) \(structure.rawValue): sparsity \(out.sparsity) τ \(out.threshold.map { "\($0)" } ?? "-")")
                XCTAssertTrue(ls.allSatisfy { $0.weight.data.allSatisfy(\.isFinite) })
                switch structure {
                case .unstructured: XCTAssertEqual(out.sparsity, s, accuracy: 0.05, "\(method)")
                case .semi24:
                    XCTAssertEqual(out.sparsity, 0.5, accuracy: 0.01, "\(method)")
                    XCTAssertTrue(ls.allSatisfy { SemiStructured.isValid($0.weight.data, R: $0.R, C: $0.C, weightColumns: $0.weightColumns) })
                default:
                    XCTAssertLessThanOrEqual(out.sparsity, s + 1e-9, "\(method)")
                    XCTAssertGreaterThan(out.sparsity, 0.15, "\(method)")
                }
            }
        }
    }

    /// `allocation: per_layer` prunes each matrix as if it were the only one (its fraction, its cheapest weights or
    /// blocks, its own update): bit-equal to a global-threshold shot on that matrix alone, where the global
    /// threshold over all three spreads the same target unevenly.
    func testPerLayerAllocation_IsEachMatrixPrunedAlone() throws {
        for method in [PruneRequest.Method.llmSurgeon, .kobd, .magnitude] {
            for structure in [PruneRequest.Structure.unstructured, .semi24] {
                var options = ShotOptions(structure: structure, method: method, sparsity: structure == .semi24 ? 0.25 : 0.3,
                                          maxCorrelate: 20)
                var global = layers(54)
                _ = try ShotPruner.run(&global, options: options)
                options.allocation = .perLayer
                var perLayer = layers(54)
                let out = try ShotPruner.run(&perLayer, options: options)
                XCTAssertNil(out.threshold, "no single threshold")
                options.allocation = .global
                for i in perLayer.indices {
                    var alone = [layers(54)[i]]
                    _ = try ShotPruner.run(&alone, options: options)
                    XCTAssertEqual(perLayer[i].weight.data, alone[0].weight.data, "\(method.rawValue) \(structure.rawValue) layer \(i)")
                }
                let fractions = { (ls: [PrunableLayer]) in ls.map { Double($0.zeros) / Double($0.R * $0.C) } }
                print("\(method.rawValue) \(structure.rawValue): per-matrix zeros global \(fractions(global)), per_layer \(fractions(perLayer))")
                if method != .magnitude {  // curvature costs: the matrix with 50× G keeps more
                    XCTAssertGreaterThan(fractions(global).max()! - fractions(global).min()!, 0.05, "the global threshold spreads unevenly")
                }
                XCTAssertLessThan(fractions(perLayer).max()! - fractions(perLayer).min()!, 0.02)
            }
        }
        // Two per-layer 2:4 shots end in a valid pattern at exactly one half.
        var ls = layers(55)
        var options = ShotOptions(structure: .semi24, method: .llmSurgeon, sparsity: 0.25, maxCorrelate: 20)
        options.allocation = .perLayer
        _ = try ShotPruner.run(&ls, options: options)
        options.sparsity = 0.5
        XCTAssertEqual(try ShotPruner.run(&ls, options: options).sparsity, 0.5, accuracy: 1e-9)
        XCTAssertTrue(ls.allSatisfy { SemiStructured.isValid($0.weight.data, R: $0.R, C: $0.C, weightColumns: $0.weightColumns) })
    }

    func testSecondShot_KeepsEarlierZerosAndReachesTheNewTarget() throws {
        var ls = layers(51)
        _ = try ShotPruner.run(&ls, options: .init(structure: .unstructured, method: .llmSurgeon, sparsity: 0.2, maxCorrelate: 30))
        let firstZeros = ls.map { $0.weight.data.map { $0 == 0 } }
        let out = try ShotPruner.run(&ls, options: .init(structure: .unstructured, method: .llmSurgeon, sparsity: 0.4, maxCorrelate: 30))
        XCTAssertEqual(out.sparsity, 0.4, accuracy: 0.02)
        for (l, z) in zip(ls, firstZeros) { for i in z.indices where z[i] { XCTAssertEqual(l.weight.data[i], 0) } }
    }

    func testStructuredShots_CountEarlierRowsAsRemoved_InBothUpdateOrders() throws {
        for order in StructuredUpdateOrder.allCases {
            var ls = layers(53)
            let first = try ShotPruner.run(&ls, options: .init(structure: .structured, method: .llmSurgeon, sparsity: 0.2,
                                                               structuredOrder: order))
            let zeroRows = ls.map { l in (0..<l.R).filter { r in (0..<l.C).allSatisfy { l.weight[r, $0] == 0 } } }
            let second = try ShotPruner.run(&ls, options: .init(structure: .structured, method: .llmSurgeon, sparsity: 0.4,
                                                                structuredOrder: order))
            print("structured \(order.rawValue): \(first.sparsity) then \(second.sparsity)")
            XCTAssertLessThanOrEqual(second.sparsity, 0.4 + 1e-9)
            XCTAssertGreaterThan(second.sparsity, first.sparsity)
            XCTAssertEqual(second.zerosBefore, first.zeros)
            for (l, rows) in zip(ls, zeroRows) { for r in rows { XCTAssertTrue((0..<l.C).allSatisfy { l.weight[r, $0] == 0 }) } }
        }
    }

    func testWandaAndSparseGPT_RejectStructuredMode() {
        var ls = layers(52)
        XCTAssertThrowsError(try ShotPruner.run(&ls, options: .init(structure: .structured, method: .wanda, sparsity: 0.2)))
        XCTAssertThrowsError(try ShotPruner.run(&ls, options: .init(structure: .unstructured, method: .llmSurgeon, sparsity: 1.0)))
    }

    /// A tiny Llama block: hidden 8, 2 query heads sharing 1 KV head of dim 4, FFN 6.
    private func tinyBlock(_ seed: UInt64) -> ([PrunableLayer], CouplingPlan) {
        var rng = TestRNG(seed)
        let h = 8, kv = 4, f = 6
        let aIn = SymmetricFactor(n: h, data: randomSPD(h, rng: &rng))
        func layer(_ name: String, _ R: Int, _ C: Int, a: SymmetricFactor? = nil) -> PrunableLayer {
            let g = SymmetricFactor(n: R, data: randomSPD(R, rng: &rng))
            let aa = a ?? SymmetricFactor(n: C, data: randomSPD(C, rng: &rng))
            return PrunableLayer(name: name, weight: Tensor(shape: [R, C], data: rng.array(R * C)), curvature: .balanced(g: g, a: aa))
        }
        let aMid = SymmetricFactor(n: h, data: randomSPD(h, rng: &rng))
        let ls = [layer("q", h, h, a: aIn), layer("k", kv, h, a: aIn), layer("v", kv, h, a: aIn), layer("o", h, h),
                  layer("gate", f, h, a: aMid), layer("up", f, h, a: aMid), layer("down", h, f)]
        let plan = CouplingPlan.llama(blocks: [.init(q: 0, k: 1, v: 2, o: 3, gate: 4, up: 5, down: 6)],
                                      heads: 2, kvHeads: 1, headDim: 4, ffn: f)
        return (ls, plan)
    }

    func testCoupledShot_RemovesWholeNeuronsAndHeads_AndKVRowsOnlyWithTheirWholeGroup() throws {
        for method in [PruneRequest.Method.llmSurgeon, .kobd, .lobd, .magnitude] {
            for s in [0.1, 0.3, 0.6] {
                var (ls, plan) = tinyBlock(60)
                let out = try ShotPruner.run(&ls, options: .init(structure: .coupled, method: method, sparsity: s, coupling: plan))
                let zeroRow = { (l: Int, r: Int) in (0..<ls[l].C).allSatisfy { ls[l].weight[r, $0] == 0 } }
                let zeroCol = { (l: Int, c: Int) in (0..<ls[l].R).allSatisfy { ls[l].weight[$0, c] == 0 } }
                for i in 0..<6 { XCTAssertEqual(zeroRow(4, i), zeroRow(5, i)); XCTAssertEqual(zeroRow(4, i), zeroCol(6, i)) }
                let headGone = (0..<2).map { h in (0..<4).allSatisfy { zeroRow(0, h * 4 + $0) } }
                for h in 0..<2 { XCTAssertEqual(headGone[h], (0..<4).allSatisfy { zeroCol(3, h * 4 + $0) }) }
                XCTAssertEqual(zeroRow(1, 0), headGone[0] && headGone[1])
                XCTAssertLessThanOrEqual(out.sparsity, s + 1e-9)
                print("coupled \(method.rawValue) s=\(s): sparsity \(out.sparsity), heads gone \(headGone)")
            }
        }
    }

    func testCoupledShot_RemovesCheapHeads_AndTheKVGroupOnlyWithItsLastHead() throws {
        for (s, gone) in [(0.3, 1), (0.6, 2)] {
            var (ls, plan) = tinyBlock(61)
            for l in [0, 3] { ls[l].weight.data = ls[l].weight.data.map { $0 * 1e-3 } }
            let out = try ShotPruner.run(&ls, options: .init(structure: .coupled, method: .magnitude, sparsity: s, coupling: plan))
            let headsGone = (0..<2).filter { h in (0..<4).allSatisfy { r in (0..<8).allSatisfy { ls[0].weight[h * 4 + r, $0] == 0 } } }
            XCTAssertEqual(headsGone.count, gone, "s = \(s)")
            XCTAssertEqual(ls[1].zeros == ls[1].R * ls[1].C, gone == 2)
            XCTAssertEqual(ls[2].zeros == ls[2].R * ls[2].C, gone == 2)
            XCTAssertLessThanOrEqual(out.sparsity, s + 1e-9)
        }
    }

    /// `coupled_cost: outputs`: neurons are chosen by their down column's cost alone, ranked as the dense
    /// formula `½·Θ[:,j]ᵀ G Θ[:,j] · (Ã_jj − Ã_jK Ã_KK⁻¹ Ã_Kj)` ranks them (a Schur complement of the damped Ã, no
    /// inverse of the whole factor); the kept down columns move by `Θ_S Ã_SK Ã_KK⁻¹` (the least-squares
    /// compensation on the kept inputs, solved directly); the producing rows of gate, up, q, k and v are zeroed
    /// where removed and left bit-equal elsewhere.
    func testCoupledOutputs_ScoresAndUpdatesOnlyTheReadingColumns_AsTheDenseFormulas() throws {
        for s in [0.15, 0.3] {
            var (ls, plan) = tinyBlock(62)
            let before = ls
            var options = ShotOptions(structure: .coupled, method: .llmSurgeon, sparsity: s, coupling: plan)
            options.coupledCost = .outputs
            _ = try ShotPruner.run(&ls, options: options)
            let down = before[6], f = down.C, R = down.R
            let zeroCol = { (l: Int, c: Int) in (0..<ls[l].R).allSatisfy { ls[l].weight[$0, c] == 0 } }
            let removed = (0..<f).filter { zeroCol(6, $0) }
            XCTAssertFalse(removed.isEmpty, "s = \(s): no neuron removed")
            // Damped Ã as the shot builds it: aScale·A + δ·mean(diag)·I, δ = 0.1 (coupled default).
            let a = down.curvature.a.data.map { Double($0 * down.curvature.aScale) }
            let lambda = 0.1 * (0..<f).reduce(0.0) { $0 + a[$1 * f + $1] } / Double(f)
            func at(_ i: Int, _ j: Int) -> Double { a[i * f + j] + (i == j ? lambda : 0) }
            func solveKept(_ kept: [Int], _ rhs: [Double]) throws -> [Double] {  // Ã_KK x = rhs
                let k = kept.count
                var m = [Double](repeating: 0, count: k * k)
                for (i, u) in kept.enumerated() { for (j, v) in kept.enumerated() { m[i * k + j] = at(u, v) } }
                var x = rhs
                try SPD.solve(m, n: k, &x, nrhs: 1)
                return x
            }
            let g = down.curvature.g.data.map(Double.init)
            var cost = [Double](repeating: 0, count: f)
            for j in 0..<f {
                let kept = (0..<f).filter { $0 != j }
                let x = try solveKept(kept, kept.map { at($0, j) })
                let schur = at(j, j) - zip(kept, x).reduce(0.0) { $0 + at(j, $1.0) * $1.1 }
                var q = 0.0
                for r in 0..<R { for t in 0..<R { q += Double(down.weight[r, j]) * g[r * R + t] * Double(down.weight[t, j]) } }
                cost[j] = 0.5 * q * schur
            }
            let cheapest = (0..<f).sorted { cost[$0] < cost[$1] }.prefix(removed.count)
            XCTAssertEqual(Set(cheapest), Set(removed), "s = \(s): costs \(cost)")
            // The kept columns of down: Θ + Θ_S Ã_SK Ã_KK⁻¹ (row by row: Ã_KK y = Ã_KS Θ_Sᵀ).
            let kept = (0..<f).filter { !removed.contains($0) }
            var worst = 0.0
            for r in 0..<R {
                let rhs = kept.map { c in removed.reduce(0.0) { $0 + at(c, $1) * Double(down.weight[r, $1]) } }
                let y = try solveKept(kept, rhs)
                for (i, c) in kept.enumerated() {
                    worst = max(worst, abs(Double(ls[6].weight[r, c]) - (Double(down.weight[r, c]) + y[i])))
                }
            }
            XCTAssertLessThan(worst, 1e-4, "s = \(s): down's kept columns")
            // Producers: zero where removed, untouched elsewhere.
            for (l, gone) in [(4, removed), (5, removed)] {
                for r in 0..<ls[l].R {
                    let row = (0..<ls[l].C).map { ls[l].weight[r, $0] }
                    XCTAssertEqual(row, gone.contains(r) ? [Float](repeating: 0, count: row.count)
                                                         : (0..<ls[l].C).map { before[l].weight[r, $0] }, "layer \(l) row \(r)")
                }
            }
            for l in [0, 1, 2] {
                for r in 0..<ls[l].R where !(0..<ls[l].C).allSatisfy({ ls[l].weight[r, $0] == 0 }) {
                    XCTAssertEqual((0..<ls[l].C).map { ls[l].weight[r, $0] }, (0..<ls[l].C).map { before[l].weight[r, $0] })
                }
            }
            print("coupled outputs s=\(s): costs \(cost.map { Float($0) }), removed neurons \(removed), max |Δ| to the dense update \(worst)")
        }
    }

    /// `bias_compensation`'s mechanism: a down_proj with a bias column (A built from its inputs and a constant 1).
    /// A neuron whose activation is nearly constant (3 ± 0.02) costs almost nothing once the bias can take its
    /// mean, so it goes first, and the OBS update moves `3·W[:, j]` into the bias — the dense least-squares
    /// answer (the other columns barely move). Without the bias column the same neuron is not the cheapest.
    func testCoupledBiasColumn_TakesARemovedNeuronsMeanOutput() throws {
        var rng = TestRNG(63)
        let R = 4, F = 6, T = 400, constant = 2
        var x = [Float](repeating: 0, count: T * F)
        for t in 0..<T { for j in 0..<F { x[t * F + j] = j == constant ? 3 + 0.02 * rng.uniform() : 0.5 + rng.uniform() } }
        func gram(_ withOne: Bool) -> SymmetricFactor {
            let n = F + (withOne ? 1 : 0)
            var a = [Float](repeating: 0, count: n * n)
            for t in 0..<T {
                let row = (0..<F).map { x[t * F + $0] } + (withOne ? [1] : [])
                for i in 0..<n { for j in 0..<n { a[i * n + j] += row[i] * row[j] / Float(T) } }
            }
            return SymmetricFactor(n: n, data: a)
        }
        let w = rng.array(R * F), b = rng.array(R)
        let g = SymmetricFactor(n: R, data: randomSPD(R, rng: &rng))
        let plan = CouplingPlan(structures: (0..<F).map { .init(name: "n\($0)", members: [.init(layer: 0, axis: .columns, indices: [$0])]) },
                                groups: [])
        var options = ShotOptions(structure: .coupled, method: .llmSurgeon, sparsity: 0.17, dampG: 0.1, dampA: 1e-6, coupling: plan)
        options.coupledCost = .outputs
        var theta = [Float](repeating: 0, count: R * (F + 1))
        for r in 0..<R { for c in 0..<F { theta[r * (F + 1) + c] = w[r * F + c] }; theta[r * (F + 1) + F] = b[r] }
        var withBias = [PrunableLayer(name: "down", weight: Tensor(shape: [R, F + 1], data: theta),
                                      curvature: .balanced(g: g, a: gram(true)), hasBias: true)]
        _ = try ShotPruner.run(&withBias, options: options)
        let gone = (0..<F).filter { c in (0..<R).allSatisfy { withBias[0].weight[$0, c] == 0 } }
        XCTAssertEqual(gone, [constant], "one column of 4 × 7 parameters reaches 17 %")
        for r in 0..<R {
            let expected = b[r] + 3 * w[r * F + constant]
            XCTAssertEqual(withBias[0].weight[r, F], expected, accuracy: 2e-3 * max(1, abs(expected)), "bias of row \(r)")
            for c in 0..<F where c != constant {
                XCTAssertEqual(withBias[0].weight[r, c], w[r * F + c], accuracy: 2e-2, "row \(r) column \(c)")
            }
        }
        var plain = [PrunableLayer(name: "down", weight: Tensor(shape: [R, F], data: w), curvature: .balanced(g: g, a: gram(false)))]
        _ = try ShotPruner.run(&plain, options: options)
        let gonePlain = (0..<F).filter { c in (0..<R).allSatisfy { plain[0].weight[$0, c] == 0 } }
        print("bias column: removed \(gone), bias \((0..<R).map { withBias[0].weight[$0, F] }); without it: removed \(gonePlain)")
        XCTAssertNotEqual(gonePlain, [constant])
    }

    /// SmolLM2-sized structured shot on random factors (30 blocks × 7 matrices). Prints seconds; set
    /// SURGEON_BENCH=1 to run (release build recommended).
    func testStructuredShotOnSmolLM2SizedRandomFactors_PrintsSeconds() throws {
        guard ProcessInfo.processInfo.environment["SURGEON_BENCH"] == "1" else { throw XCTSkip("set SURGEON_BENCH=1") }
        var rng = TestRNG(70)
        let h = 576, kv = 192, f = 1536
        let t0 = Date()
        func factor(_ n: Int) -> SymmetricFactor {
            let m = n + 64
            let x = rng.array(m * n)
            var out = [Float](repeating: 0, count: n * n)
            x.withUnsafeBufferPointer { px in out.withUnsafeMutableBufferPointer { po in
                ssyrkAccumulate(n: n, k: m, alpha: 1 / Float(m), px.baseAddress!, ldx: n, po.baseAddress!, ldc: n)
                symmetrizeUpper(po.baseAddress!, n: n)
            } }
            return SymmetricFactor(n: n, data: out)
        }
        var ls: [PrunableLayer] = []
        for b in 0..<30 {
            let aAttn = factor(h), aMlp = factor(h)
            func layer(_ name: String, _ R: Int, _ C: Int, _ a: SymmetricFactor) -> PrunableLayer {
                PrunableLayer(name: "blk.\(b).\(name)", weight: Tensor(shape: [R, C], data: rng.array(R * C).map { $0 * 0.05 }),
                              curvature: .balanced(g: factor(R), a: a))
            }
            ls += [layer("q", h, h, aAttn), layer("k", kv, h, aAttn), layer("v", kv, h, aAttn), layer("o", h, h, factor(h)),
                   layer("gate", f, h, aMlp), layer("up", f, h, aMlp), layer("down", h, f, factor(f))]
        }
        print("benchmark setup seconds", Date().timeIntervalSince(t0), "layers", ls.count, "BLAS threads", blasThreads())
        let t1 = Date(), cpu1 = cpuSeconds()
        let out = try ShotPruner.run(&ls, options: .init(structure: .structured, method: .llmSurgeon, sparsity: 0.1))
        print("structured LLM Surgeon shot seconds", Date().timeIntervalSince(t1), "CPU seconds", cpuSeconds() - cpu1,
              "phases", out.seconds, "sparsity", out.sparsity)
        XCTAssertGreaterThan(out.sparsity, 0.05)
    }

    /// One 576×576 matrix, unstructured LLM Surgeon at 50 % with max_correlate 2000 (SURGEON_BENCH=1).
    func testUnstructuredShotOnOneSmolLM2Matrix_PrintsSeconds() throws {
        guard ProcessInfo.processInfo.environment["SURGEON_BENCH"] == "1" else { throw XCTSkip("set SURGEON_BENCH=1") }
        var rng = TestRNG(71)
        var ls = [randomLayer("blk.0.attn_q", R: 576, C: 576, rng: &rng)]
        let t0 = Date(), cpu0 = cpuSeconds()
        let out = try ShotPruner.run(&ls, options: .init(structure: .unstructured, method: .llmSurgeon, sparsity: 0.5))
        print("unstructured 576×576 at 50 % seconds", Date().timeIntervalSince(t0), "CPU seconds", cpuSeconds() - cpu0, "phases", out.seconds, "sparsity", out.sparsity)
        XCTAssertEqual(out.sparsity, 0.5, accuracy: 0.01)
    }
}

/// User + system CPU seconds of this process (all threads).
func cpuSeconds() -> Double {
    var ru = rusage()
    getrusage(RUSAGE_SELF.rawValue, &ru)
    return Double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + Double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6
}
