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
            var scratch = ChunkScratch()
            for chunk in chunks(rowCounts: rowCounts, maxCorrelate: maxCorrelate) where chunk.count > 0 {
                try updateChunk(delta: &delta, theta: sub, mask: subMask, rows: chunk.rows, count: chunk.count,
                                ginv: ginv, ainv: ainv, kr: kr, kc: kc, layer: layer, scratch: &scratch)
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

    /// Buffers reused across the chunks of one layer.
    struct ChunkScratch {
        var m: [Double] = []   // (n, n), row-major upper triangle filled
        var x: [Double] = []   // (n)
        var pr: [Int32] = [], pc: [Int32] = []
        var xr: [Float] = [], y: [Float] = []
    }

    /// One chunk: `x = M_q⁻¹ θ_q'` with `M_q = Ginv[r_q,r_q] ∘ Ainv[c_q,c_q]` (fp64 Cholesky), then
    /// `Δ −= Ginv[:, ρ] · (X[ρ,:] · Ainv)`.
    static func updateChunk(delta: inout [Float], theta: [Float], mask: [Bool], rows: Range<Int>, count n: Int,
                            ginv: [Float], ainv: [Float], kr: Int, kc: Int, layer: String,
                            scratch s: inout ChunkScratch) throws {
        s.pr.removeAll(keepingCapacity: true); s.pc.removeAll(keepingCapacity: true)
        for i in rows { for j in 0..<kc where mask[i * kc + j] { s.pr.append(Int32(i)); s.pc.append(Int32(j)) } }
        if s.m.count < n * n { s.m = [Double](repeating: 0, count: n * n) }
        if s.x.count < n { s.x = [Double](repeating: 0, count: n) }
        let nr = rows.count, r0 = rows.lowerBound
        if s.xr.count < nr * kc { s.xr = [Float](repeating: 0, count: nr * kc); s.y = s.xr }
        try ginv.withUnsafeBufferPointer { g in try ainv.withUnsafeBufferPointer { a in
        try s.pr.withUnsafeBufferPointer { pr in try s.pc.withUnsafeBufferPointer { pc in
        try s.m.withUnsafeMutableBufferPointer { mb in try s.x.withUnsafeMutableBufferPointer { xb in
            let m = mb.baseAddress!, x = xb.baseAddress!
            // Row-major upper triangle (LAPACK's column-major lower): contiguous stores.
            for p in 0..<n {
                let gr = Int(pr[p]) * kr, ar = Int(pc[p]) * kc
                let row = m + p * n
                for q in p..<n { row[q] = Double(g[gr + Int(pr[q])]) * Double(a[ar + Int(pc[q])]) }
                let e = Int(pr[p]) * kc + Int(pc[p])
                x[p] = Double(theta[e] + delta[e])
            }
            do { try SPD.solveUpper(m, n: n, x) } catch {
                throw PruningError.notPositiveDefinite(layer: layer, detail: "chunk system of \(n) elements: \(error)")
            }
        } }
        } }
        } }
        for i in 0..<(nr * kc) { s.xr[i] = 0 }
        for p in 0..<n { s.xr[(Int(s.pr[p]) - r0) * kc + Int(s.pc[p])] = Float(s.x[p]) }
        s.xr.withUnsafeBufferPointer { px in ainv.withUnsafeBufferPointer { pa in s.y.withUnsafeMutableBufferPointer { py in
            sgemm(m: nr, n: kc, k: kc, px.baseAddress!, lda: kc, pa.baseAddress!, ldb: kc, py.baseAddress!, ldc: kc)
        } } }
        ginv.withUnsafeBufferPointer { pg in s.y.withUnsafeBufferPointer { py in delta.withUnsafeMutableBufferPointer { pd in
            sgemm(m: kr, n: kc, k: nr, alpha: -1, pg.baseAddress! + r0, lda: kr, py.baseAddress!, ldb: kc,
                  beta: 1, pd.baseAddress!, ldc: kc)
        } } }
    }
}
