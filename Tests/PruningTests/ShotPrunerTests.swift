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
