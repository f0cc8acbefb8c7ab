import Tensor

/// Refit of the kept weights on a fixed mask (issue 15): after a shot's OBS update has chosen what to remove, the
/// weights that stay are moved to the minimum of the same damped K-FAC quadratic the update approximates,
///
///     q(Δ) = ½·⟨Δ, G_d·Δ·A_d⟩,   Δ = Θ − Θ₀ on the live sub-matrix, every pruned entry held at Θ = 0,
///
/// where Θ₀ is the layer at the start of the shot and G_d, A_d are its damped live factors (the ones whose inverses
/// the update used). The chunked correlated update of unstructured / 2:4 pruning solves this only chunk by chunk and
/// then re-zeroes what later chunks moved; the sequential row → column update of structured pruning solves rows and
/// columns one after the other. Jacobi-preconditioned conjugate gradients, warm-started from the update's result,
/// lower q monotonically; each iteration costs two matrix products of the layer's size.
public enum MaskedRefit {
    /// What a refit did to one layer: the quadratic before and after, in the unscaled factors' units.
    public struct Outcome: Sendable, Equatable {
        public var before: Double
        public var after: Double
        public static let none = Outcome(before: 0, after: 0)
        public static func + (l: Outcome, r: Outcome) -> Outcome { Outcome(before: l.before + r.before, after: l.after + r.after) }
    }

    /// Refits `theta` in place: `iterations` conjugate-gradient steps on the free (non-zero) entries of the live
    /// sub-matrix. Entries that are zero in `theta` stay zero; rows and columns outside `live` are not touched.
    /// - Parameters:
    ///   - before: Θ₀, the layer's weights at the start of the shot (R·C).
    ///   - g, a: the layer's unscaled factors (R×R, C×C); damped here as `dampedSubmatrix` damps them for the inverses.
    public static func refit(theta: inout Tensor, before: [Float], live: LiveSet, g: SymmetricFactor, a: SymmetricFactor,
                             dampG: Double, dampA: Double, iterations: Int) -> Outcome {
        let kr = live.rows.count, kc = live.cols.count
        guard iterations > 0, kr > 0, kc > 0 else { return .none }
        let gd = dampedSubmatrix(g, live: live.rows, damping: dampG).map { Float($0) }  // (kr, kr)
        let ad = dampedSubmatrix(a, live: live.cols, damping: dampA).map { Float($0) }  // (kc, kc)
        let w = gather(theta.data, ld: theta.cols, rows: live.rows, cols: live.cols)    // (kr, kc)
        let w0 = gather(before, ld: theta.cols, rows: live.rows, cols: live.cols)
        let free = w.map { $0 != 0 }
        var d = [Float](repeating: 0, count: kr * kc)
        for i in d.indices { d[i] = w[i] - w0[i] }
        let n = kr * kc
        var precond = [Float](repeating: 0, count: n)  // 1 / (G_ii·A_jj) on free entries, 0 on pinned ones
        for i in 0..<kr { for j in 0..<kc where free[i * kc + j] { precond[i * kc + j] = 1 / (gd[i * kr + i] * ad[j * kc + j]) } }

        var tmp = [Float](repeating: 0, count: n), hv = [Float](repeating: 0, count: n)
        /// hv = G_d·v·A_d.
        func apply(_ v: [Float]) {
            v.withUnsafeBufferPointer { pv in ad.withUnsafeBufferPointer { pa in tmp.withUnsafeMutableBufferPointer { pt in
                sgemm(m: kr, n: kc, k: kc, pv.baseAddress!, lda: kc, pa.baseAddress!, ldb: kc, pt.baseAddress!, ldc: kc)
            } } }
            gd.withUnsafeBufferPointer { pg in tmp.withUnsafeBufferPointer { pt in hv.withUnsafeMutableBufferPointer { ph in
                sgemm(m: kr, n: kc, k: kr, pg.baseAddress!, lda: kr, pt.baseAddress!, ldb: kc, ph.baseAddress!, ldc: kc)
            } } }
        }
        func dot(_ x: [Float], _ y: [Float]) -> Double {
            var s = 0.0
            x.withUnsafeBufferPointer { px in y.withUnsafeBufferPointer { py in for i in 0..<n { s += Double(px[i]) * Double(py[i]) } } }
            return s
        }

        apply(d)
        var q = 0.5 * dot(d, hv)
        let q0 = q
        var r = [Float](repeating: 0, count: n)  // −∇q on the free entries
        for i in 0..<n where free[i] { r[i] = -hv[i] }
        var z = [Float](repeating: 0, count: n)
        for i in 0..<n { z[i] = r[i] * precond[i] }
        var p = z
        var rz = dot(r, z)
        var step = 0
        while step < iterations, rz > 0 {
            apply(p)
            for i in 0..<n where !free[i] { hv[i] = 0 }
            let pAp = dot(p, hv)
            guard pAp > 0, pAp.isFinite else { break }
            let alpha = rz / pAp
            let next = q - alpha * dot(p, r) + 0.5 * alpha * alpha * pAp
            guard next <= q else { break }  // rounding: never accept a step that raises q
            q = next
            let af = Float(alpha)
            for i in 0..<n { d[i] += af * p[i]; r[i] -= af * hv[i]; z[i] = r[i] * precond[i] }
            let rzNext = dot(r, z)
            let beta = Float(rzNext / rz)
            rz = rzNext
            for i in 0..<n { p[i] = z[i] + beta * p[i] }
            step += 1
        }
        var out = w
        for i in 0..<n where free[i] { out[i] = w0[i] + d[i] }
        scatter(out, into: &theta.data, ld: theta.cols, rows: live.rows, cols: live.cols)
        return Outcome(before: q0, after: q)
    }

    /// The same minimum by a dense solve, for tests: `H_FF·Δ_F = −H_FP·Δ_P` with `H = G_d ⊗ A_d` over the live
    /// sub-matrix's free (F) and pinned (P) entries. Small layers only (H is (kr·kc)²).
    static func exactMinimum(theta: Tensor, before: [Float], live: LiveSet, g: SymmetricFactor, a: SymmetricFactor,
                             dampG: Double, dampA: Double) throws -> [Float] {
        let kr = live.rows.count, kc = live.cols.count
        let gd = dampedSubmatrix(g, live: live.rows, damping: dampG), ad = dampedSubmatrix(a, live: live.cols, damping: dampA)
        let w = gather(theta.data, ld: theta.cols, rows: live.rows, cols: live.cols)
        let w0 = gather(before, ld: theta.cols, rows: live.rows, cols: live.cols)
        let freeIdx = (0..<(kr * kc)).filter { w[$0] != 0 }, pinned = (0..<(kr * kc)).filter { w[$0] == 0 }
        func h(_ u: Int, _ v: Int) -> Double { gd[(u / kc) * kr + v / kc] * ad[(u % kc) * kc + v % kc] }
        let m = freeIdx.count
        var sys = [Double](repeating: 0, count: m * m), rhs = [Double](repeating: 0, count: m)
        for (x, u) in freeIdx.enumerated() {
            for (y, v) in freeIdx.enumerated() where y >= x { sys[x * m + y] = h(u, v) }
            rhs[x] = -pinned.reduce(0.0) { $0 + h(u, $1) * Double(0 - w0[$1]) }
        }
        try sys.withUnsafeMutableBufferPointer { s in try rhs.withUnsafeMutableBufferPointer { b in
            try SPD.solveUpper(s.baseAddress!, n: m, b.baseAddress!)
        } }
        var out = theta
        var sub = w
        for (x, u) in freeIdx.enumerated() { sub[u] = w0[u] + Float(rhs[x]) }
        scatter(sub, into: &out.data, ld: theta.cols, rows: live.rows, cols: live.cols)
        return out.data
    }
}
