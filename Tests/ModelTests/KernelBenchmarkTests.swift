import Foundation
import XCTest
import Tensor

/// Timings of the SmolLM2-sized kernels, best of 5 (figures only, no assertions on time).
final class KernelBenchmarkTests: XCTestCase {
    func time(_ label: String, flops: Double, _ body: () -> Void) {
        body()
        var dt = Double.infinity
        for _ in 0..<5 {
            let s = Date()
            body()
            dt = min(dt, Date().timeIntervalSince(s))
        }
        print(String(format: "%@: %.4f s, %.1f GFLOP/s", label, dt, flops / dt / 1e9))
    }

    func testBenchmarkKernels_PrintsTimings() throws {
        #if DEBUG
        throw XCTSkip("release only")
        #else
        let t = 2048, c = 576, f = 1536, h = 9, kv = 3, d = 64, v = 49152
        let x = [Float](repeating: 0.01, count: t * f), w = [Float](repeating: 0.02, count: f * f)
        var out = [Float](repeating: 0, count: t * f)
        time("linear 2048x576 -> 1536", flops: 2.0 * Double(t * c * f)) {
            linearForward(&out, x, w, nil, n: t, c: c, r: f)
        }
        let q = [Float](repeating: 0.01, count: t * h * d), k = [Float](repeating: 0.02, count: t * kv * d)
        for (tt, workers) in [(512, 1), (512, blasThreads()), (t, 1), (t, blasThreads())] {
            var probs = [Float](repeating: 0, count: attentionScratchCount(t: tt, keys: tt, heads: h, headDim: d, workers: workers))
            var att = [Float](repeating: 0, count: tt * h * d)
            time("attention 9 heads T=\(tt), \(workers) workers", flops: 4.0 * Double(h * d) * Double(tt * tt) / 2 * Double(t / tt)) {
                for _ in 0..<(t / tt) {
                    attentionForward(&att, &probs, q, k, k, kvHeadOf: (0..<h).map { $0 / 3 },
                                     t: tt, past: 0, kvHeads: kv, headDim: d, workers: workers)
                }
            }
        }
        var logits = [Float](repeating: 0.1, count: 128 * v), lp = [Float](repeating: 0, count: 128)
        let tg = [Int](repeating: 5, count: 128)
        time("cross-entropy 128 x 49152", flops: Double(128 * v)) {
            crossEntropyRows(&lp, &logits, targets: tg, n: 128, vocab: v, grad: false, gradScale: 0)
        }
        let e = [Float](repeating: 0.01, count: v * c)
        time("LM head chunk 128 x 576 x 49152", flops: 2.0 * Double(128 * c * v)) {
            sgemm(transB: true, m: 128, n: v, k: c, x, lda: c, e, ldb: c, &logits, ldc: v)
        }
        #endif
    }
}

extension KernelBenchmarkTests {
    /// Row blocks and threads of the attention, each variant timed alternately, best of several passes.
    func testBenchmarkAttentionVariants_PrintsTimings() throws {
        #if DEBUG
        throw XCTSkip("release only")
        #else
        let h = 9, kv = 3, d = 64
        for t in [512, 2048] {
            let q = [Float](repeating: 0.01, count: t * h * d), k = [Float](repeating: 0.02, count: t * kv * d)
            var probs = [Float](repeating: 0, count: attentionScratchCount(t: t, keys: t, heads: h, headDim: d, workers: 2) * 4)
            var att = [Float](repeating: 0, count: t * h * d)
            var variants: [(String, () -> Void)] = []
            for workers in [1, 2] { for rb in [16, 32, 64] {
                variants.append(("T=\(t) \(workers) workers, \(rb) rows", {
                    attentionForward(&att, &probs, q, k, k, kvHeadOf: (0..<h).map { $0 / 3 }, t: t, past: 0, kvHeads: kv,
                                     headDim: d, workers: workers, rowBlock: rb)
                }))
            } }
            var best = [Double](repeating: .infinity, count: variants.count)
            for _ in 0..<(t == 512 ? 30 : 8) {
                for (i, v) in variants.enumerated() { let s = Date(); v.1(); best[i] = min(best[i], Date().timeIntervalSince(s)) }
            }
            let flops = 4.0 * Double(h * d) * Double(t * t) / 2
            for (i, v) in variants.enumerated() { print(String(format: "attention %@: %.2f ms, %.1f GFLOP/s", v.0, best[i] * 1e3, flops / best[i] / 1e9)) }
        }
        #endif
    }

    func testBenchmarkExp_PrintsTimings() throws {
        #if DEBUG
        throw XCTSkip("release only")
        #else
        let n = 1 << 22
        let x = UnsafeMutablePointer<Float>.allocate(capacity: n), y = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { x.deallocate(); y.deallocate() }
        for i in 0..<n { x[i] = Float(i % 1000) / -100 }
        time("expShifted 4M (GFLOP/s = G elements/s)", flops: Double(n)) { _ = expShifted(y, x, count: n, shift: 0.5) }
        time("libm expf 4M", flops: Double(n)) { for i in 0..<n { y[i] = expf(x[i]) } }
        var sink: Float = 0
        time("maxElement 4M", flops: Double(n)) { sink += maxElement(x, count: n) }
        time("sum 4M", flops: Double(n)) { sink += sum(x, count: n) }
        time("sumExpShifted 4M", flops: Double(n)) { sink += sumExpShifted(x, count: n, shift: 0) }
        XCTAssertFalse(sink.isNaN)
        #endif
    }
}
