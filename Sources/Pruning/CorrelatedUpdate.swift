import Tensor

/// The correlated OBS update of unstructured and 2:4 pruning (method.md §6.1, §17.5).
public enum CorrelatedUpdate {
    /// Packs whole rows greedily into chunks of at most `maxCorrelate` elements, rows in ascending order; a row
    /// with more than `maxCorrelate` elements forms its own chunk; empty chunks are kept (callers skip them).
    /// `maxCorrelate == 0` puts everything in one chunk. Returns each chunk's (row range, element count).
    public static func chunks(rowCounts: [Int], maxCorrelate: Int) -> [(rows: Range<Int>, count: Int)] {
        if maxCorrelate <= 0 { return [(0..<rowCounts.count, rowCounts.reduce(0, +))] }
        var out: [(rows: Range<Int>, count: Int)] = []
        var start = 0, count = 0
        for (r, n) in rowCounts.enumerated() {
            if count + n > maxCorrelate {
                out.append((start..<r, count))
                start = r; count = 0
            }
            count += n
        }
        out.append((start..<rowCounts.count, count))
        return out
    }

    /// Zeroes `mask` in the live sub-matrix with the correlated update, chunk by chunk with accumulation
    /// (`addupdate`), then sets `Θ[mask] = 0` everywhere.
    /// - Parameters:
    ///   - theta: the weights (R, C), updated in place.
    ///   - mask: positions to zero (R, C), including already-zero weights.
    ///   - ginv, ainv: damped inverses of the live sub-factors, (kr, kr) and (kc, kc).
    public static func apply(theta: inout Tensor, mask: [Bool], live: LiveSet, ginv: [Float], ainv: [Float],
                             maxCorrelate: Int, layer: String) throws {
        let C = theta.cols
        let kr = live.rows.count, kc = live.cols.count
        if kr > 0 && kc > 0 {
            let sub = gather(theta.data, ld: C, rows: live.rows, cols: live.cols)  // (kr, kc)
            let subMask = live.rows.flatMap { r in live.cols.map { c in mask[r * C + c] } }
            var delta = [Float](repeating: 0, count: kr * kc)  // (kr, kc) accumulated ΔΘ
            var rowCounts = [Int](repeating: 0, count: kr)
            for i in 0..<kr { for j in 0..<kc where subMask[i * kc + j] { rowCounts[i] += 1 } }
            for chunk in chunks(rowCounts: rowCounts, maxCorrelate: maxCorrelate) where chunk.count > 0 {
                try updateChunk(delta: &delta, theta: sub, mask: subMask, rows: chunk.rows, count: chunk.count,
                                ginv: ginv, ainv: ainv, kr: kr, kc: kc, layer: layer)
            }
            var updated = sub
            for i in 0..<updated.count {
                let d = delta[i]
                updated[i] += d.isFinite ? d : 0
            }
            scatter(updated, into: &theta.data, ld: C, rows: live.rows, cols: live.cols)
        }
        for i in 0..<mask.count where mask[i] { theta.data[i] = 0 }
    }

    /// One chunk: `x = M_q⁻¹ θ_q'` with `M_q = Ginv[r_q,r_q] ∘ Ainv[c_q,c_q]` (fp64 Cholesky), then
    /// `Δ −= Ginv[:, ρ] · (X[ρ,:] · Ainv)`.
    static func updateChunk(delta: inout [Float], theta: [Float], mask: [Bool], rows: Range<Int>, count n: Int,
                            ginv: [Float], ainv: [Float], kr: Int, kc: Int, layer: String) throws {
        var pr = [Int](), pc = [Int]()
        pr.reserveCapacity(n); pc.reserveCapacity(n)
        for i in rows { for j in 0..<kc where mask[i * kc + j] { pr.append(i); pc.append(j) } }
        var m = [Double](repeating: 0, count: n * n)  // (n, n)
        var x = [Double](repeating: 0, count: n)       // (n)
        ginv.withUnsafeBufferPointer { g in ainv.withUnsafeBufferPointer { a in
            for p in 0..<n {
                let gr = pr[p] * kr, ar = pc[p] * kc
                for q in 0...p {
                    let v = Double(g[gr + pr[q]]) * Double(a[ar + pc[q]])
                    m[p * n + q] = v; m[q * n + p] = v
                }
                x[p] = Double(theta[pr[p] * kc + pc[p]] + delta[pr[p] * kc + pc[p]])
            }
        } }
        do { try SPD.solve(m, n: n, &x, nrhs: 1) } catch {
            throw PruningError.notPositiveDefinite(layer: layer, detail: "chunk system of \(n) elements: \(error)")
        }
        let nr = rows.count, r0 = rows.lowerBound
        var xr = [Float](repeating: 0, count: nr * kc)  // (|ρ|, kc)
        for p in 0..<n { xr[(pr[p] - r0) * kc + pc[p]] = Float(x[p]) }
        var y = [Float](repeating: 0, count: nr * kc)   // (|ρ|, kc) = X[ρ,:] · Ainv
        xr.withUnsafeBufferPointer { px in ainv.withUnsafeBufferPointer { pa in y.withUnsafeMutableBufferPointer { py in
            sgemm(m: nr, n: kc, k: kc, px.baseAddress!, lda: kc, pa.baseAddress!, ldb: kc, py.baseAddress!, ldc: kc)
        } } }
        ginv.withUnsafeBufferPointer { pg in y.withUnsafeBufferPointer { py in delta.withUnsafeMutableBufferPointer { pd in
            sgemm(m: kr, n: kc, k: nr, alpha: -1, pg.baseAddress! + r0, lda: kr, py.baseAddress!, ldb: kc,
                  beta: 1, pd.baseAddress!, ldc: kc)
        } } }
    }
}
