import Foundation

/// Causal multi-head attention with grouped-query heads, every product on sgemm.
///
/// `q (T, H·D)` are the queries of positions `past..<past+T`; `k`, `v (past+T, KV·D)` hold every key
/// and value so far. Query head `h` reads KV head `kvHeadOf[h]`
/// (`h / (H/KV)` for ordinary GQA; compact models may map irregularly). Scores are scaled by `scale`
/// (default `1/sqrt(D)`). With `window`, the query at position `p` sees keys `p − window + 1 ... p` only
/// (sliding-window attention); a piece then multiplies only by the keys its rows can see.
///
/// The work is split into (KV group, block of query rows) pieces. A piece stacks the rows of every query
/// head of its group into one matrix, so each of its two products is one sgemm of `heads × rows` rows, and
/// its scores stop at the block's last causal position, so most of the masked half is never computed.
/// With `workers > 1` the pieces run on that many threads with single-threaded BLAS (products this small
/// gain little from BLAS's own threads). `scratch` holds `attentionScratchCount` floats; `rowBlock` may
/// make the blocks smaller than `attentionRowBlock` (tests).
public func attentionForward(_ out: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>,
                             _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                             kvHeadOf: [Int], t: Int, past: Int, kvHeads: Int, headDim d: Int, window: Int? = nil,
                             scale: Float? = nil, workers: Int = 1, rowBlock: Int? = nil) {
    let heads = kvHeadOf.count, s = past + t, hd = heads * d, kvd = kvHeads * d
    guard heads > 0, t > 0 else { return }
    let scale = scale ?? 1 / Float(d).squareRoot()
    let groups = (0..<kvHeads).map { g in (0..<heads).filter { kvHeadOf[$0] == g } }.filter { !$0.isEmpty }
    let rows = min(attentionRowBlock(t), rowBlock ?? t), blocks = (t + rows - 1) / rows
    let perWorker = attentionScratchCount(t: t, keys: s, heads: heads, headDim: d, workers: 1)
    BLASParallel.forEach(count: groups.count * blocks, workers: workers) { item, worker in
        // later blocks first: they are the largest, so the last pieces to finish are small
        let members = groups[item % groups.count], r0 = (blocks - 1 - item / groups.count) * rows
        let g = kvHeadOf[members[0]], r1 = min(t, r0 + rows), n = r1 - r0, m = members.count * n
        let c0 = firstKey(past + r0, window), cols = past + r1 - c0
        let qs = scratch + worker * perWorker, os = qs + m * d, p = os + m * d
        // stacked queries: row j·n + i is head members[j] at position r0 + i
        for (j, h) in members.enumerated() {
            for i in 0..<n { (qs + (j * n + i) * d).update(from: q + (r0 + i) * hd + h * d, count: d) }
        }
        // P (m, cols) = scale · Q_stacked · K_g[c0..<c0+cols]ᵀ
        sgemm(transB: true, m: m, n: cols, k: d, alpha: scale, qs, lda: d, k + c0 * kvd + g * d, ldb: kvd, p, ldc: cols)
        for j in 0..<members.count {
            for i in 0..<n {
                let pos = past + r0 + i
                softmaxWindowRow(p + (j * n + i) * cols, from: firstKey(pos, window) - c0, to: pos + 1 - c0, width: cols)
            }
        }
        // O (m, D) = P · V_g[c0..<c0+cols]
        sgemm(m: m, n: d, k: cols, p, lda: cols, v + c0 * kvd + g * d, ldb: kvd, os, ldc: d)
        for (j, h) in members.enumerated() {
            for i in 0..<n { (out + (r0 + i) * hd + h * d).update(from: os + (j * n + i) * d, count: d) }
        }
    }
}

/// Query rows per piece of `attentionForward` (`rowBlock` overrides it, never upwards): fewer rows compute
/// less of the masked half, more rows make larger products. 64 was the fastest of 32–256 for SmolLM2's
/// 9 heads at T = 512 and 2048 (`KernelBenchmarkTests.testBenchmarkAttentionVariants_PrintsTimings`).
public func attentionRowBlock(_ t: Int) -> Int { min(t, 64) }

/// Floats of scratch `attentionForward` needs for `t` query rows over `keys` positions, `heads` query heads
/// of `headDim`, on `workers` threads (a KV group has at most `heads` query heads).
public func attentionScratchCount(t: Int, keys: Int, heads: Int, headDim d: Int, workers: Int) -> Int {
    max(1, workers * heads * attentionRowBlock(t) * (keys + 2 * d))
}

/// The first key position the query at `pos` sees (`0` without a window).
@inlinable
public func firstKey(_ pos: Int, _ window: Int?) -> Int { window.map { max(0, pos + 1 - $0) } ?? 0 }

/// Softmax over entries `from..<to` of a row; the others (`0..<from`, `to..<width`) become 0.
@inlinable
func softmaxWindowRow(_ row: UnsafeMutablePointer<Float>, from lo: Int, to hi: Int, width: Int) {
    if lo == 0 { softmaxCausalRow(row, valid: hi, width: width); return }
    row.update(repeating: 0, count: lo)
    softmaxCausalRow(row + lo, valid: hi - lo, width: width - lo)
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
/// `k`, `v (T, KV·D)`, writes `dq (T, H·D)`, `dk`, `dv (T, KV·D)`. The softmax rows are recomputed instead
/// of stored (memory `O(T²)` instead of `O(L·H·T²)`).
///
/// The work is split into (head, block of query rows) pieces as in `attentionForward`: a block touches keys
/// `0..<r1` only, so the masked half is mostly skipped. Pieces of the same KV group add into the same `dk`,
/// `dv` rows, so each thread adds into its own copies, summed at the end; pieces are dealt to the threads
/// in a fixed way, so the sums, and a resumed job's weights, are the same bits on every run. With
/// `workers > 1` the pieces run on that many threads with single-threaded BLAS. `scratch` holds
/// `attentionBackwardScratchCount` floats.
public func attentionBackward(_ dq: UnsafeMutablePointer<Float>, _ dk: UnsafeMutablePointer<Float>,
                              _ dv: UnsafeMutablePointer<Float>, _ scratch: UnsafeMutablePointer<Float>,
                              _ dout: UnsafePointer<Float>, _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>,
                              _ v: UnsafePointer<Float>, kvHeadOf: [Int], t: Int, kvHeads: Int, headDim d: Int,
                              window: Int? = nil, scale: Float? = nil, workers: Int = 1, rowBlock: Int? = nil) {
    let heads = kvHeadOf.count, hd = heads * d, kvd = kvHeads * d
    guard t > 0 else { return }
    let scale = scale ?? 1 / Float(d).squareRoot()
    let rows = min(attentionRowBlock(t), rowBlock ?? t), blocks = (t + rows - 1) / rows
    let w = max(1, min(workers, heads * blocks))
    let perWorker = attentionBackwardScratchCount(t: t, kvd: kvd, workers: 1)
    for i in 0..<w { (scratch + i * perWorker + 2 * rows * t).update(repeating: 0, count: 2 * t * kvd) }
    BLASParallel.forEach(count: heads * blocks, workers: w, schedule: .interleaved) { item, worker in
        let h = item % heads, r0 = (blocks - 1 - item / heads) * rows
        let g = kvHeadOf[h], r1 = min(t, r0 + rows), n = r1 - r0
        let c0 = firstKey(r0, window), cols = r1 - c0, kg = k + c0 * kvd + g * d, vg = v + c0 * kvd + g * d
        let p = scratch + worker * perWorker, dp = p + rows * t, dkw = dp + rows * t, dvw = dkw + t * kvd
        let qh = q + r0 * hd + h * d, douth = dout + r0 * hd + h * d
        // P (n, cols) = softmax(scale · Q_h[r0..<r1] K_g[c0..<r1]ᵀ), causal and windowed (recomputed)
        sgemm(transB: true, m: n, n: cols, k: d, alpha: scale, qh, lda: hd, kg, ldb: kvd, p, ldc: cols)
        for i in 0..<n { softmaxWindowRow(p + i * cols, from: firstKey(r0 + i, window) - c0, to: r0 + i + 1 - c0, width: cols) }
        // dV_g[c0..<r1] += Pᵀ · dout_h[r0..<r1]
        sgemm(transA: true, m: cols, n: d, k: n, p, lda: cols, douth, ldb: hd, beta: 1, dvw + c0 * kvd + g * d, ldc: kvd)
        // dP (n, cols) = dout_h[r0..<r1] · V_g[c0..<r1]ᵀ
        sgemm(transB: true, m: n, n: cols, k: d, douth, lda: hd, vg, ldb: kvd, dp, ldc: cols)
        // dS = scale · P ⊙ (dP − rowsum(P ⊙ dP)), 0 outside the keys the row sees
        for i in 0..<n {
            let pr = p + i * cols, dr = dp + i * cols, lo = firstKey(r0 + i, window) - c0, hi = r0 + i + 1 - c0
            var dot: Float = 0
            for j in lo..<hi { dot += pr[j] * dr[j] }
            for j in lo..<hi { dr[j] = scale * pr[j] * (dr[j] - dot) }
            if lo > 0 { dr.update(repeating: 0, count: lo) }
            if hi < cols { (dr + hi).update(repeating: 0, count: cols - hi) }
        }
        // dQ_h[r0..<r1] = dS · K_g[c0..<r1];  dK_g[c0..<r1] += dSᵀ · Q_h[r0..<r1]
        sgemm(m: n, n: d, k: cols, dp, lda: cols, kg, ldb: kvd, dq + r0 * hd + h * d, ldc: hd)
        sgemm(transA: true, m: cols, n: d, k: n, dp, lda: cols, qh, ldb: hd, beta: 1, dkw + c0 * kvd + g * d, ldc: kvd)
    }
    // dK, dV = the sums of the threads' copies
    let acc0 = scratch + 2 * rows * t
    dk.update(from: acc0, count: t * kvd)
    dv.update(from: acc0 + t * kvd, count: t * kvd)
    for i in 1..<w {
        let acc = scratch + i * perWorker + 2 * rows * t
        for j in 0..<(t * kvd) { dk[j] += acc[j]; dv[j] += acc[t * kvd + j] }
    }
}

/// Floats of scratch `attentionBackward` needs for `t` rows, `kvd = KV·D`, on `workers` threads: each
/// thread's probabilities and their gradients for one row block, and its own `dk`, `dv`.
public func attentionBackwardScratchCount(t: Int, kvd: Int, workers: Int) -> Int {
    max(1, workers * (2 * attentionRowBlock(t) * t + 2 * t * kvd))
}

/// Reference twin of `attentionBackward`: every head over all `T × T` scores, one thread (tests).
public func attentionBackwardReference(_ dq: UnsafeMutablePointer<Float>, _ dk: UnsafeMutablePointer<Float>,
                                       _ dv: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                                       _ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                                       kvHeadOf: [Int], t: Int, kvHeads: Int, headDim d: Int,
                                       window: Int? = nil, scale: Float? = nil) {
    let heads = kvHeadOf.count, hd = heads * d, kvd = kvHeads * d
    let scale = scale ?? 1 / Float(d).squareRoot()
    let p = UnsafeMutablePointer<Float>.allocate(capacity: 2 * t * t), dp = p + t * t
    defer { p.deallocate() }
    dk.update(repeating: 0, count: t * kvd)
    dv.update(repeating: 0, count: t * kvd)
    for h in 0..<heads {
        let g = kvHeadOf[h]
        sgemm(transB: true, m: t, n: t, k: d, alpha: scale, q + h * d, lda: hd, k + g * d, ldb: kvd, p, ldc: t)
        for i in 0..<t { softmaxWindowRow(p + i * t, from: firstKey(i, window), to: i + 1, width: t) }
        sgemm(transA: true, m: t, n: d, k: t, p, lda: t, dout + h * d, ldb: hd, beta: 1, dv + g * d, ldc: kvd)
        sgemm(transB: true, m: t, n: t, k: d, dout + h * d, lda: hd, v + g * d, ldb: kvd, dp, ldc: t)
        for i in 0..<t {
            let pr = p + i * t, dr = dp + i * t, lo = firstKey(i, window)
            var dot: Float = 0
            for j in lo...i { dot += pr[j] * dr[j] }
            for j in 0..<t { dr[j] = j >= lo && j <= i ? scale * pr[j] * (dr[j] - dot) : 0 }
        }
        sgemm(m: t, n: d, k: t, dp, lda: t, k + g * d, ldb: kvd, dq + h * d, ldc: hd)
        sgemm(transA: true, m: t, n: d, k: t, dp, lda: t, q + h * d, ldb: hd, beta: 1, dk + g * d, ldc: kvd)
    }
}

/// Naive twin of `attentionForward` for `past = 0`, for tests: `out (T, H·D)`.
public func attentionForwardNaive(_ out: UnsafeMutablePointer<Float>, _ q: UnsafePointer<Float>,
                                  _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>,
                                  kvHeadOf: [Int], t: Int, kvHeads: Int, headDim d: Int,
                                  window: Int? = nil, scale: Float? = nil) {
    let heads = kvHeadOf.count, hd = heads * d, kvd = kvHeads * d
    let scale = scale.map(Double.init) ?? 1 / Double(d).squareRoot()
    var w = [Double](repeating: 0, count: t)
    for h in 0..<heads {
        let g = kvHeadOf[h]
        for i in 0..<t {
            var m = -Double.infinity
            let lo = firstKey(i, window)
            for j in lo...i {
                var s: Double = 0
                for x in 0..<d { s += Double(q[i * hd + h * d + x]) * Double(k[j * kvd + g * d + x]) }
                w[j] = s * scale; m = max(m, w[j])
            }
            var sum: Double = 0
            for j in lo...i { w[j] = Foundation.exp(w[j] - m); sum += w[j] }
            for x in 0..<d {
                var acc: Double = 0
                for j in lo...i { acc += w[j] / sum * Double(v[j * kvd + g * d + x]) }
                out[i * hd + h * d + x] = Float(acc)
            }
        }
    }
}
