import XCTest
import Tensor

/// Optimised kernels against their naive twins.
final class KernelTests: XCTestCase {
    func random(_ n: Int, seed: UInt64) -> [Float] {
        var s = seed &+ 0x9E3779B97F4A7C15
        return (0..<n).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: s >> 11) % 2000) / 1000 - 1
        }
    }

    func testAttentionSgemm_MatchesNaive_WithGQA() {
        let t = 300, h = 6, kv = 2, d = 16   // t > row block (64), not a multiple of it: blocking is exercised
        let q = random(t * h * d, seed: 1), k = random(t * kv * d, seed: 2), v = random(t * kv * d, seed: 3)
        // ordinary GQA, and an irregular map as compaction leaves it (groups of 4 and 2 query heads)
        for map in [(0..<h).map { $0 / 3 }, [1, 0, 0, 1, 0, 0]] {
        var slow = [Float](repeating: 0, count: t * h * d)
        attentionForwardNaive(&slow, q, k, v, kvHeadOf: map, t: t, kvHeads: kv, headDim: d)
        for (workers, rowBlock) in [(1, nil), (2, nil), (3, nil), (2, 7)] as [(Int, Int?)] {
            var fast = [Float](repeating: .nan, count: t * h * d)
            var probs = [Float](repeating: .nan, count: attentionScratchCount(t: t, keys: t, heads: h, headDim: d, workers: workers))
            attentionForward(&fast, &probs, q, k, v, kvHeadOf: map, t: t, past: 0, kvHeads: kv, headDim: d, workers: workers, rowBlock: rowBlock)
            let diff = zip(fast, slow).map { abs($0 - $1) }.max()!
            print("attention sgemm (\(workers) workers, row block \(rowBlock ?? 64)) vs naive max diff \(diff)")
            XCTAssertLessThan(diff, 1e-5, "\(workers) workers, row block \(String(describing: rowBlock)), map \(map)")
        }
        }
    }

    func testAttentionBackward_MatchesReference_BlockedAndThreaded() {
        let t = 150, h = 6, kv = 2, d = 16
        let q = random(t * h * d, seed: 7), k = random(t * kv * d, seed: 8), v = random(t * kv * d, seed: 9)
        let dout = random(t * h * d, seed: 10)
        for map in [(0..<h).map { $0 / 3 }, [1, 0, 0, 1, 0, 0]] {
            var rq = [Float](repeating: 0, count: t * h * d), rk = [Float](repeating: 0, count: t * kv * d), rv = rk
            attentionBackwardReference(&rq, &rk, &rv, dout, q, k, v, kvHeadOf: map, t: t, kvHeads: kv, headDim: d)
            for (workers, rowBlock) in [(1, nil), (2, nil), (3, 7)] as [(Int, Int?)] {
                var fq = [Float](repeating: .nan, count: t * h * d), fk = [Float](repeating: .nan, count: t * kv * d), fv = fk
                var scratch = [Float](repeating: .nan, count: attentionBackwardScratchCount(t: t, kvd: kv * d, workers: workers))
                attentionBackward(&fq, &fk, &fv, &scratch, dout, q, k, v, kvHeadOf: map, t: t, kvHeads: kv, headDim: d,
                                  workers: workers, rowBlock: rowBlock)
                XCTAssertFalse((fq + fk + fv).contains { $0.isNaN }, "every output written")
                let diff = [maxAbsDiff(fq, rq), maxAbsDiff(fk, rk), maxAbsDiff(fv, rv)].max()!
                print("attention backward (\(workers) workers, row block \(rowBlock ?? 64)) vs reference max diff \(diff)")
                XCTAssertLessThan(diff, 1e-5, "\(workers) workers, row block \(String(describing: rowBlock)), map \(map)")
            }
        }
    }

    func testAttentionWithPastKeys_MatchesFullSequence() {
        let t = 20, h = 4, kv = 2, d = 8, past = 13
        let q = random(t * h * d, seed: 4), k = random(t * kv * d, seed: 5), v = random(t * kv * d, seed: 6)
        let map = (0..<h).map { $0 / 2 }
        var full = [Float](repeating: 0, count: t * h * d), tail = [Float](repeating: 0, count: (t - past) * h * d)
        var probs = [Float](repeating: 0, count: attentionScratchCount(t: t, keys: t, heads: h, headDim: d, workers: 1))
        attentionForward(&full, &probs, q, k, v, kvHeadOf: map, t: t, past: 0, kvHeads: kv, headDim: d)
        q.withUnsafeBufferPointer { qp in
            attentionForward(&tail, &probs, qp.baseAddress! + past * h * d, k, v,
                             kvHeadOf: map, t: t - past, past: past, kvHeads: kv, headDim: d)
        }
        let diff = zip(full.suffix(tail.count), tail).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(diff, 1e-6)
    }

    /// Sliding-window attention (Gemma 3): the blocked kernels, forward and backward, against their naive
    /// twins with windows shorter than, equal to and longer than a row block, and a scale that is not 1/√D.
    func testSlidingWindowAttention_MatchesNaive_ForwardBackwardAndPastKeys() {
        let t = 150, h = 4, kv = 1, d = 16, map = [0, 0, 0, 0]
        let q = random(t * h * d, seed: 11), k = random(t * kv * d, seed: 12), v = random(t * kv * d, seed: 13)
        let dout = random(t * h * d, seed: 14)
        for (window, scale) in [(5, Float(0.3)), (64, nil), (100, nil), (1000, Float(0.2))] as [(Int, Float?)] {
            var slow = [Float](repeating: 0, count: t * h * d)
            attentionForwardNaive(&slow, q, k, v, kvHeadOf: map, t: t, kvHeads: kv, headDim: d, window: window, scale: scale)
            var rq = [Float](repeating: 0, count: t * h * d), rk = [Float](repeating: 0, count: t * kv * d), rv = rk
            attentionBackwardReference(&rq, &rk, &rv, dout, q, k, v, kvHeadOf: map, t: t, kvHeads: kv, headDim: d,
                                       window: window, scale: scale)
            for (workers, rowBlock) in [(1, nil), (2, 7)] as [(Int, Int?)] {
                var fast = [Float](repeating: .nan, count: t * h * d)
                var probs = [Float](repeating: .nan, count: attentionScratchCount(t: t, keys: t, heads: h, headDim: d, workers: workers))
                attentionForward(&fast, &probs, q, k, v, kvHeadOf: map, t: t, past: 0, kvHeads: kv, headDim: d,
                                 window: window, scale: scale, workers: workers, rowBlock: rowBlock)
                XCTAssertLessThan(maxAbsDiff(fast, slow), 1e-5, "forward, window \(window), \(workers) workers")
                var fq = [Float](repeating: .nan, count: t * h * d), fk = [Float](repeating: .nan, count: t * kv * d), fv = fk
                var scratch = [Float](repeating: .nan, count: attentionBackwardScratchCount(t: t, kvd: kv * d, workers: workers))
                attentionBackward(&fq, &fk, &fv, &scratch, dout, q, k, v, kvHeadOf: map, t: t, kvHeads: kv, headDim: d,
                                  window: window, scale: scale, workers: workers, rowBlock: rowBlock)
                XCTAssertFalse((fq + fk + fv).contains { $0.isNaN }, "every output written")
                XCTAssertLessThan([maxAbsDiff(fq, rq), maxAbsDiff(fk, rk), maxAbsDiff(fv, rv)].max()!, 1e-5,
                                  "backward, window \(window), \(workers) workers")
            }
            // queries after a KV cache of `past` positions see the same window
            let past = 97
            var tail = [Float](repeating: 0, count: (t - past) * h * d)
            var probs = [Float](repeating: 0, count: attentionScratchCount(t: t, keys: t, heads: h, headDim: d, workers: 1))
            q.withUnsafeBufferPointer { qp in
                attentionForward(&tail, &probs, qp.baseAddress! + past * h * d, k, v, kvHeadOf: map, t: t - past, past: past,
                                 kvHeads: kv, headDim: d, window: window, scale: scale)
            }
            XCTAssertLessThan(maxAbsDiff(Array(slow.suffix(tail.count)), tail), 1e-5, "past keys, window \(window)")
        }
        // a window of 1 attends to itself only: the output is the value row
        var one = [Float](repeating: 0, count: t * h * d)
        attentionForwardNaive(&one, q, k, v, kvHeadOf: map, t: t, kvHeads: kv, headDim: d, window: 1)
        XCTAssertEqual(Array(one[(5 * h * d)..<(5 * h * d + d)]), Array(v[(5 * d)..<(6 * d)]))
    }

    func testGegluTanh_MatchesFiniteDifferences() {
        let n = 64
        let g = random(n, seed: 21).map { $0 * 4 }, u = random(n, seed: 22), dout = random(n, seed: 23)
        var out = [Float](repeating: 0, count: n), dg = out, du = out
        gegluTanhForward(&out, g, u, count: n)
        gegluTanhBackward(&dg, &du, dout, g, u, count: n)
        for i in 0..<n {
            let x = Double(g[i])
            let gelu = 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))
            XCTAssertEqual(Double(out[i]), gelu * Double(u[i]), accuracy: 1e-5)
            let h = 1e-3
            func f(_ x: Double) -> Double { 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))) }
            let numeric = (f(x + h) - f(x - h)) / (2 * h) * Double(u[i]) * Double(dout[i])
            XCTAssertEqual(Double(dg[i]), numeric, accuracy: 1e-3)
            XCTAssertEqual(Double(du[i]), gelu * Double(dout[i]), accuracy: 1e-5)
        }
    }

    func testLinearForward_MatchesNaive() {
        let n = 7, c = 33, r = 19
        let x = random(n * c, seed: 7), w = random(r * c, seed: 8), b = random(r, seed: 9)
        var fast = [Float](repeating: 0, count: n * r), slow = fast
        linearForward(&fast, x, w, b, n: n, c: c, r: r)
        linearForwardNaive(&slow, x, w, b, n: n, c: c, r: r)
        let diff = zip(fast, slow).map { abs($0 - $1) }.max()!
        print("linear sgemm vs naive max diff \(diff)")
        XCTAssertLessThan(diff, 1e-5)
    }

    func testRopeInverse_UndoesRope() {
        let t = 5, h = 3, d = 8
        let (cs, sn) = ropeTables(positions: 16, headDim: d, theta: 10000)
        let x0 = random(t * h * d, seed: 10)
        var x = x0
        ropeApply(&x, cos: cs, sin: sn, t: t, heads: h, headDim: d, pos0: 4)
        XCTAssertGreaterThan(zip(x, x0).map { abs($0 - $1) }.max()!, 1e-2)
        ropeApply(&x, cos: cs, sin: sn, t: t, heads: h, headDim: d, pos0: 4, inverse: true)
        XCTAssertLessThan(zip(x, x0).map { abs($0 - $1) }.max()!, 1e-5)
    }

    func testNormBackwards_MatchFiniteDifferences() {
        let n = 3, c = 10
        let x = random(n * c, seed: 11).map(Double.init), w = random(c, seed: 12).map { 1 + 0.5 * $0 }
        let bias = random(c, seed: 13), dy = random(n * c, seed: 14)
        for layer in [false, true] {
            func loss(_ xs: [Float]) -> Double {
                var y = [Float](repeating: 0, count: n * c)
                if layer { layernormForward(&y, nil, nil, xs, w, bias, n: n, c: c, eps: 1e-5) }
                else { rmsnormForward(&y, nil, xs, w, n: n, c: c, eps: 1e-5) }
                return zip(y, dy).reduce(0) { $0 + Double($1.0) * Double($1.1) }
            }
            let xf = x.map(Float.init)
            var y = [Float](repeating: 0, count: n * c), mean = [Float](repeating: 0, count: n), rstd = mean
            var dx = [Float](repeating: 0, count: n * c)
            if layer {
                layernormForward(&y, &mean, &rstd, xf, w, bias, n: n, c: c, eps: 1e-5)
                layernormBackward(&dx, dy, xf, w, mean, rstd, n: n, c: c)
            } else {
                rmsnormForward(&y, &rstd, xf, w, n: n, c: c, eps: 1e-5)
                rmsnormBackward(&dx, dy, xf, w, rstd, n: n, c: c)
            }
            var worst = 0.0
            for i in 0..<(n * c) {
                var p = xf, m = xf
                p[i] += 1e-2; m[i] -= 1e-2
                worst = max(worst, abs((loss(p) - loss(m)) / 2e-2 - Double(dx[i])))
            }
            print("\(layer ? "layernorm" : "rmsnorm") backward vs finite differences max diff \(worst)")
            XCTAssertLessThan(worst, 5e-3)
        }
    }
}

final class ExpKernelTests: XCTestCase {
    func testFastExp_MatchesLibm() {
        var worst: Double = 0
        var x: Float = -87
        while x < 88 {
            let v = fastExpScalar(x)
            worst = max(worst, abs(Double(v) / Foundation.exp(Double(x)) - 1))
            x += 0.0137
        }
        print("fastExp max relative error \(worst)")
        XCTAssertLessThan(worst, 1e-6)
        XCTAssertEqual(fastExpScalar(-200), 0, accuracy: 1e-30); XCTAssertEqual(fastExp(SIMD8<Float>(repeating: 1.5))[3], fastExpScalar(1.5))
    }

    func testCrossEntropyRows_MatchNaiveLogSoftmaxAndGradient() {
        let n = 3, v = 37
        var logits = (0..<(n * v)).map { Float(($0 * 7919) % 101) / 10 - 5 }
        let orig = logits
        let targets = [4, -1, 36]
        var lp = [Float](repeating: 0, count: n)
        crossEntropyRows(&lp, &logits, targets: targets, n: n, vocab: v, grad: true, gradScale: 0.5)
        for i in 0..<n {
            let row = orig[(i * v)..<((i + 1) * v)].map(Double.init)
            let m = row.max()!, lse = m + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) })
            if targets[i] >= 0 {
                XCTAssertEqual(Double(lp[i]), row[targets[i]] - lse, accuracy: 1e-5)
                for j in 0..<v {
                    let want = 0.5 * (Foundation.exp(row[j] - lse) - (j == targets[i] ? 1 : 0))
                    XCTAssertEqual(Double(logits[i * v + j]), want, accuracy: 1e-6)
                }
            } else {
                XCTAssertEqual(lp[i], 0)
                XCTAssertEqual(logits[(i * v)..<((i + 1) * v)].map { abs($0) }.max(), 0)
            }
        }
    }
}
