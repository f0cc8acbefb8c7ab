import Foundation

/// Causal multi-head attention with grouped-query heads, every product on sgemm.
///
/// `q (T, H·D)` are the queries of positions `past..<past+T`; `k`, `v (past+T, KV·D)` hold every key
/// and value so far. Query head `h` reads KV head `kvHeadOf[h]`
/// (`h / (H/KV)` for ordinary GQA; compact models may map irregularly). Scores are scaled by `1/sqrt(D)`.
/// `probs` receives the softmax rows: `(H, T, S)` with `S = past+T` when `probsHeadStride = T·S`
/// (stored for the backward), or one reused `(T, S)` scratch when `probsHeadStride = 0`.
public func attentionForward(_ out: UnsafeMutablePointer<Float>, _ probs: UnsafeMutablePointer<Float>,
                             probsHeadStride: Int, _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>,
                             _ v: UnsafePointer<Float>, kvHeadOf: [Int], t: Int, past: Int, kvHeads: Int, headDim d: Int) {
    let heads = kvHeadOf.count, s = past + t, hd = heads * d, kvd = kvHeads * d
    let scale = 1 / Float(d).squareRoot()
    let rowBlock = 256  // causal blocking: skips most of the masked half; larger blocks mean fewer, bigger sgemms
    for h in 0..<heads {
        let g = kvHeadOf[h]
        let p = probs + h * probsHeadStride
        var r0 = 0
        while r0 < t {
            let r1 = min(t, r0 + rowBlock), cols = past + r1
            // P[r0..<r1, 0..<cols] = scale · Q_h[r0..<r1] · K_gᵀ
            sgemm(transB: true, m: r1 - r0, n: cols, k: d, alpha: scale, q + r0 * hd + h * d, lda: hd,
                  k + g * d, ldb: kvd, p + r0 * s, ldc: s)
            for i in r0..<r1 { softmaxCausalRow(p + i * s, valid: past + i + 1, width: s) }
            // out_h[r0..<r1] = P[r0..<r1, 0..<cols] · V_g
            sgemm(m: r1 - r0, n: d, k: cols, p + r0 * s, lda: s, v + g * d, ldb: kvd,
                  out + r0 * hd + h * d, ldc: hd)
            r0 = r1
        }
    }
}

/// Softmax over the first `valid` entries of a row; entries `valid..<width` become 0.
@inlinable
func softmaxCausalRow(_ row: UnsafeMutablePointer<Float>, valid: Int, width: Int) {
    let m = maxElement(row, count: valid)
    let inv = 1 / expShifted(row, row, count: valid, shift: m)
    for j in 0..<valid { row[j] *= inv }
    if valid < width { (row + valid).update(repeating: 0, count: width - valid) }
}

/// Attention backward (no KV cache: `past = 0`). Given `dout (T, H·D)` and the (rotated) `q (T, H·D)`,
/// `k`, `v (T, KV·D)`, writes `dq (T, H·D)`, `dk`, `dv (T, KV·D)`. The softmax rows are recomputed
/// head by head instead of stored (memory `O(T²)` instead of `O(L·H·T²)`); `scratch` holds `2·T·T` floats.
public func attentionBackward(_ dq: UnsafeMutablePointer<Float>, _ dk: UnsafeMutablePointer<Float>,
                              _ dv: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>,
                              _ dout: UnsafePointer<Float>, _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>,
                              _ v: UnsafePointer<Float>, kvHeadOf: [Int], t: Int, kvHeads: Int, headDim d: Int) {
    let heads = kvHeadOf.count, hd = heads * d, kvd = kvHeads * d
    let scale = 1 / Float(d).squareRoot()
    let p = scratch, dp = scratch + t * t
    dk.update(repeating: 0, count: t * kvd)
    dv.update(repeating: 0, count: t * kvd)
    for h in 0..<heads {
        let g = kvHeadOf[h]
        // P = softmax(scale · Q_h K_gᵀ), causal (recomputed)
        sgemm(transB: true, m: t, n: t, k: d, alpha: scale, q + h * d, lda: hd, k + g * d, ldb: kvd, p, ldc: t)
        for i in 0..<t { softmaxCausalRow(p + i * t, valid: i + 1, width: t) }
        // dV_g += Pᵀ · dout_h
        sgemm(transA: true, m: t, n: d, k: t, p, lda: t, dout + h * d, ldb: hd, beta: 1, dv + g * d, ldc: kvd)
        // dP = dout_h · V_gᵀ
        sgemm(transB: true, m: t, n: t, k: d, dout + h * d, lda: hd, v + g * d, ldb: kvd, dp, ldc: t)
        // dS = scale · P ⊙ (dP − rowsum(P ⊙ dP))
        for i in 0..<t {
            let pr = p + i * t, dr = dp + i * t
            var dot: Float = 0
            for j in 0...i { dot += pr[j] * dr[j] }
            for j in 0...i { dr[j] = scale * pr[j] * (dr[j] - dot) }
            if i + 1 < t { (dr + i + 1).update(repeating: 0, count: t - i - 1) }
        }
        // dQ_h = dS · K_g;  dK_g += dSᵀ · Q_h
        sgemm(m: t, n: d, k: t, dp, lda: t, k + g * d, ldb: kvd, dq + h * d, ldc: hd)
        sgemm(transA: true, m: t, n: d, k: t, dp, lda: t, q + h * d, ldb: hd, beta: 1, dk + g * d, ldc: kvd)
    }
}

/// Naive twin of `attentionForward` for `past = 0`, for tests: `out (T, H·D)`.
public func attentionForwardNaive(_ out: UnsafeMutablePointer<Float>, _ q: UnsafePointer<Float>,
                                  _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                                  kvHeadOf: [Int], t: Int, kvHeads: Int, headDim d: Int) {
    let heads = kvHeadOf.count, hd = heads * d, kvd = kvHeads * d
    let scale = 1 / Double(d).squareRoot()
    var w = [Double](repeating: 0, count: t)
    for h in 0..<heads {
        let g = kvHeadOf[h]
        for i in 0..<t {
            var m = -Double.infinity
            for j in 0...i {
                var s: Double = 0
                for x in 0..<d { s += Double(q[i * hd + h * d + x]) * Double(k[j * kvd + g * d + x]) }
                w[j] = s * scale; m = max(m, w[j])
            }
            var sum: Double = 0
            for j in 0...i { w[j] = Foundation.exp(w[j] - m); sum += w[j] }
            for x in 0..<d {
                var acc: Double = 0
                for j in 0...i { acc += w[j] / sum * Double(v[j * kvd + g * d + x]) }
                out[i * hd + h * d + x] = Float(acc)
            }
        }
    }
}
