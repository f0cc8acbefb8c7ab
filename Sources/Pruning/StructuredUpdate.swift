import Tensor

/// How the row and column updates of structured pruning combine (method.md §6.2).
public enum StructuredUpdateOrder: String, Sendable, Codable, CaseIterable {
    /// The reference: both updates from the same pre-update Θ, summed.
    case summed
    /// Rows first; then the column update from the row-updated weights.
    case sequential
}

/// Multi-row / multi-column OBS updates under `F⁻¹ = G̃⁻¹ ⊗ Ã⁻¹`, by Cholesky solves (no eigendecomposition).
public enum StructuredUpdate {
    /// `ΔΘ = − G̃⁻¹[:, ℛ] ([G̃⁻¹]_ℛℛ)⁻¹ Θ[ℛ, :]` on the live sub-matrix. `rows` are sub-coordinates.
    /// // theta, result: (kr, kc); ginv: (kr, kr)
    static func rowDelta(theta: [Float], rows: [Int], ginv: InverseFactor, kr: Int, kc: Int, layer: String) throws -> [Float] {
        let k = rows.count
        var out = [Float](repeating: 0, count: kr * kc)
        guard k > 0, kc > 0 else { return out }
        let gcols = ginv.columns(rows)  // (kr, k) G̃⁻¹[:, ℛ]
        var m = [Double](repeating: 0, count: k * k)  // (k, k) [G̃⁻¹]_ℛℛ
        for (i, ri) in rows.enumerated() { for j in 0..<k { m[i * k + j] = Double(gcols[ri * k + j]) } }
        var b = [Double](repeating: 0, count: k * kc)  // column-major (k, kc): right-hand side j is column j of Θ[ℛ,:]
        for (i, ri) in rows.enumerated() { for j in 0..<kc { b[j * k + i] = Double(theta[ri * kc + j]) } }
        do { try SPD.solve(m, n: k, &b, nrhs: kc) } catch {
            throw PruningError.notPositiveDefinite(layer: layer, detail: "[G̃⁻¹] of \(k) pruned rows: \(error)")
        }
        var y = [Float](repeating: 0, count: k * kc)  // (k, kc) row-major
        for i in 0..<k { for j in 0..<kc { y[i * kc + j] = Float(b[j * k + i]) } }
        gcols.withUnsafeBufferPointer { pg in y.withUnsafeBufferPointer { py in out.withUnsafeMutableBufferPointer { po in
            sgemm(m: kr, n: kc, k: k, alpha: -1, pg.baseAddress!, lda: k, py.baseAddress!, ldb: kc, po.baseAddress!, ldc: kc)
        } } }
        return out
    }

    /// `ΔΘ = − Θ[:, 𝒮] ([Ã⁻¹]_𝒮𝒮)⁻¹ Ã⁻¹[𝒮, :]` on the live sub-matrix. `cols` are sub-coordinates.
    /// // theta, result: (kr, kc); ainv: (kc, kc)
    static func columnDelta(theta: [Float], cols: [Int], ainv: InverseFactor, kr: Int, kc: Int, layer: String) throws -> [Float] {
        let k = cols.count
        var out = [Float](repeating: 0, count: kr * kc)
        guard k > 0, kr > 0 else { return out }
        let arows = ainv.rowBlock(cols)  // (k, kc) Ã⁻¹[𝒮, :]
        var m = [Double](repeating: 0, count: k * k)  // (k, k) [Ã⁻¹]_𝒮𝒮
        for i in 0..<k { for (j, cj) in cols.enumerated() { m[i * k + j] = Double(arows[i * kc + cj]) } }
        var b = [Double](repeating: 0, count: kr * k)  // column-major (k, kr): right-hand side r is row r of Θ[:, 𝒮]
        for r in 0..<kr { for (j, cj) in cols.enumerated() { b[r * k + j] = Double(theta[r * kc + cj]) } }
        do { try SPD.solve(m, n: k, &b, nrhs: kr) } catch {
            throw PruningError.notPositiveDefinite(layer: layer, detail: "[Ã⁻¹] of \(k) pruned columns: \(error)")
        }
        let z = b.map { Float($0) }  // (kr, k) row-major
        z.withUnsafeBufferPointer { pz in arows.withUnsafeBufferPointer { pa in out.withUnsafeMutableBufferPointer { po in
            sgemm(m: kr, n: kc, k: k, alpha: -1, pz.baseAddress!, lda: k, pa.baseAddress!, ldb: kc, po.baseAddress!, ldc: kc)
        } } }
        return out
    }

    /// Removes `rows` and `cols` (full coordinates) from `theta` with the OBS update, then zeroes them.
    /// `groupSize > 0` cuts each index list into pieces of that size, each updated from the same weights (the
    /// reference's `max_correlate` for structured pruning; 1 is the "independent" ablation).
    static func apply(theta: inout Tensor, rows: [Int], cols: [Int], live: LiveSet, ginv: InverseFactor, ainv: InverseFactor,
                             order: StructuredUpdateOrder, groupSize: Int = 0, layer: String) throws {
        let C = theta.cols
        let kr = live.rows.count, kc = live.cols.count
        if kr > 0 && kc > 0 && (!rows.isEmpty || !cols.isEmpty) {
            var rowPos = [Int: Int](), colPos = [Int: Int]()
            for (i, r) in live.rows.enumerated() { rowPos[r] = i }
            for (j, c) in live.cols.enumerated() { colPos[c] = j }
            let subRows = rows.compactMap { rowPos[$0] }.sorted()
            let subCols = cols.compactMap { colPos[$0] }.sorted()
            var sub = gather(theta.data, ld: C, rows: live.rows, cols: live.cols)  // (kr, kc)
            var total = [Float](repeating: 0, count: kr * kc)
            for piece in pieces(subRows, groupSize) {
                add(&total, try rowDelta(theta: sub, rows: piece, ginv: ginv, kr: kr, kc: kc, layer: layer))
            }
            if order == .sequential {
                add(&sub, total)
                for r in subRows { for j in 0..<kc { sub[r * kc + j] = 0 } }
                total = [Float](repeating: 0, count: kr * kc)
            }
            for piece in pieces(subCols, groupSize) {
                add(&total, try columnDelta(theta: sub, cols: piece, ainv: ainv, kr: kr, kc: kc, layer: layer))
            }
            add(&sub, total)
            scatter(sub, into: &theta.data, ld: C, rows: live.rows, cols: live.cols)
        }
        for r in rows { for c in 0..<C { theta.data[r * C + c] = 0 } }
        for c in cols { for r in 0..<theta.rows { theta.data[r * C + c] = 0 } }
    }

    static func pieces(_ xs: [Int], _ size: Int) -> [[Int]] {
        if xs.isEmpty { return [] }
        if size <= 0 { return [xs] }
        return stride(from: 0, to: xs.count, by: size).map { Array(xs[$0..<min($0 + size, xs.count)]) }
    }

    /// `x += d`, with NaN/Inf in `d` taken as 0.
    static func add(_ x: inout [Float], _ d: [Float]) {
        x.withUnsafeMutableBufferPointer { px in d.withUnsafeBufferPointer { pd in
            for i in 0..<px.count { let v = pd[i]; if v.isFinite { px[i] += v } }
        } }
    }
}
