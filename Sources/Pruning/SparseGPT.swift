import Tensor

/// SparseGPT (Frantar & Alistarh 2023) as its reference code: layer-wise OBS with `H ∝ X Xᵀ` (our `A`), the upper
/// Cholesky factor of `H⁻¹`, column blocks of 128 with lazy updates, damping 1 % of the mean diagonal. Each layer
/// is pruned to the same sparsity (no global allocation).
public enum SparseGPT {
    /// Prunes the first `weightColumns` columns of `theta` (R, C) in place. `h` is the input factor (C, C).
    /// Unstructured: inside each column block, the fraction `s` of lowest `w²/[H⁻¹]_cc²` over the whole block.
    /// 2:4: in every 4-block, the 2 lowest (ties by column), whatever `s`.
    public static func prune(theta: inout Tensor, h: [Float], sparsity s: Double, semi24: Bool, weightColumns: Int,
                             blockSize: Int = 128, percentDamp: Double = 0.01, layer: String) throws {
        let R = theta.rows, C = theta.cols, n = weightColumns
        guard n > 0, R > 0 else { return }
        let u = try inverseCholeskyUpper(h: h, ld: C, n: n, percentDamp: percentDamp, theta: &theta, layer: layer)  // (n, n)
        var w = gather(theta.data, ld: C, rows: Array(0..<R), cols: Array(0..<n))  // (R, n)
        for i1 in stride(from: 0, to: n, by: blockSize) {
            let i2 = min(i1 + blockSize, n), count = i2 - i1
            var w1 = gather(w, ld: n, rows: Array(0..<R), cols: Array(i1..<i2))  // (R, count)
            var err = [Float](repeating: 0, count: R * count)                   // (R, count)
            var mask = [Bool](repeating: false, count: R * count)
            if !semi24 {
                var tmp = [Float](repeating: 0, count: R * count)
                for r in 0..<R { for j in 0..<count {
                    let d = u[(i1 + j) * n + i1 + j], x = w1[r * count + j]
                    tmp[r * count + j] = x * x / (d * d)
                } }
                if let t = kthSmallest(Int(Double(R * count) * s), in: [tmp]) {
                    for i in 0..<tmp.count { mask[i] = tmp[i] <= t }
                }
            }
            for i in 0..<count {
                let d = u[(i1 + i) * n + i1 + i]
                if semi24 && i % 4 == 0 && i + 4 <= count {
                    for r in 0..<R {
                        var c4 = [Float](repeating: 0, count: 4)
                        for k in 0..<4 {
                            let dk = u[(i1 + i + k) * n + i1 + i + k], x = w1[r * count + i + k]
                            c4[k] = x * x / (dk * dk)
                        }
                        let (a, b) = SemiStructured.twoCheapest(c4[0], c4[1], c4[2], c4[3])
                        mask[r * count + i + a] = true; mask[r * count + i + b] = true
                    }
                }
                let hrow = (i1 + i) * n + i1
                for r in 0..<R {
                    let x = w1[r * count + i]
                    let q: Float = mask[r * count + i] ? 0 : x
                    let e = (x - q) / d
                    err[r * count + i] = e
                    w1[r * count + i] = q
                    if e != 0 { for j in (i + 1)..<max(i + 1, count) { w1[r * count + j] -= e * u[hrow + j] } }
                }
            }
            scatter(w1, into: &w, ld: n, rows: Array(0..<R), cols: Array(i1..<i2))
            if i2 < n {
                err.withUnsafeBufferPointer { pe in u.withUnsafeBufferPointer { pu in w.withUnsafeMutableBufferPointer { pw in
                    sgemm(m: R, n: n - i2, k: count, alpha: -1, pe.baseAddress!, lda: count,
                          pu.baseAddress! + i1 * n + i2, ldb: n, beta: 1, pw.baseAddress! + i2, ldc: n)
                } } }
            }
        }
        scatter(w, into: &theta.data, ld: C, rows: Array(0..<R), cols: Array(0..<n))
    }

    /// Dead columns (`H_cc = 0`) are zeroed in `theta` and get `H_cc = 1`; then `U` with `(H + λI)⁻¹ = UᵀU`.
    /// // h: (C, C) with leading dimension ld; result (n, n) upper triangular, row-major
    static func inverseCholeskyUpper(h: [Float], ld: Int, n: Int, percentDamp: Double, theta: inout Tensor,
                                     layer: String) throws -> [Float] {
        var m = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { m[i * n + j] = Double(h[i * ld + j]) } }
        if m.contains(where: { !$0.isFinite }) { throw PruningError.nonFiniteFactor(layer: layer, factor: "A") }
        for i in 0..<n where m[i * n + i] == 0 {
            m[i * n + i] = 1
            for r in 0..<theta.rows { theta.data[r * theta.cols + i] = 0 }
        }
        var mean = 0.0
        for i in 0..<n { mean += m[i * n + i] }
        let damp = percentDamp * mean / Double(n)
        for i in 0..<n { m[i * n + i] += damp }
        do {
            var inv = try SPD.inverse(m, n: n)
            try SPD.factor(&inv, n: n)
            for i in 0..<n { for j in 0..<i { inv[i * n + j] = 0 } }
            return inv.map { Float($0) }
        } catch {
            throw PruningError.notPositiveDefinite(layer: layer, detail: "SparseGPT Hessian: \(error)")
        }
    }
}
