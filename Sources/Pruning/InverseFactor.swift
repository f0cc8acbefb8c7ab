import Tensor

/// A damped inverse `(M_live + λI)⁻¹` of a live sub-factor, kept dense (unstructured/2:4 need every entry) or
/// as `V = L⁻ᵀ` with inverse `V Vᵀ` (structured/coupled need only the diagonal and a few columns).
struct InverseFactor {
    let n: Int
    private let dense: [Float]?  // (n, n)
    private let v: [Float]?      // (n, n) upper triangular
    /// Diagonal of the inverse. // (n)
    let diagonal: [Float]

    static let empty = InverseFactor(n: 0, dense: [], v: nil, diagonal: [])

    private init(n: Int, dense: [Float]?, v: [Float]?, diagonal: [Float]) {
        self.n = n; self.dense = dense; self.v = v; self.diagonal = diagonal
    }

    /// `(s·M[live,live] + δ·mean(diag)·I)⁻¹` in fp64, stored in fp32.
    init(_ m: SymmetricFactor, live: [Int], damping: Double, factored: Bool) throws {
        let k = live.count
        if !factored || k == 0 {
            let inv = try dampedInverse(m, scale: 1, live: live, damping: damping)
            self.init(n: k, dense: inv, v: nil, diagonal: (0..<k).map { inv[$0 * k + $0] })
            return
        }
        let vd = try SPD.inverseFactor(dampedSubmatrix(m, live: live, damping: damping), n: k)
        var diag = [Float](repeating: 0, count: k)
        for i in 0..<k {
            var s = 0.0
            for j in i..<k { s += vd[i * k + j] * vd[i * k + j] }
            diag[i] = Float(s)
        }
        self.init(n: k, dense: nil, v: vd.map { Float($0) }, diagonal: diag)
    }

    /// The floats `stored` holds: the matrix (`V` when factored, else the dense inverse), then the diagonal.
    var stored: (factored: Bool, floats: [Float]) {
        if let v { return (true, v + diagonal) }
        return (false, (dense ?? []) + diagonal)
    }

    /// Rebuilds an inverse from `stored`'s floats (`n² + n` of them), exactly.
    init(stored floats: [Float], n: Int, factored: Bool) {
        precondition(floats.count == n * n + n, "InverseFactor: \(n)×\(n) needs \(n * n + n) stored floats, got \(floats.count)")
        let m = Array(floats[0..<(n * n)]), d = Array(floats[(n * n)...])
        self.init(n: n, dense: factored ? nil : m, v: factored ? m : nil, diagonal: d)
    }

    /// A dense inverse given directly (tests).
    init(dense: [Float], n: Int) { self.init(n: n, dense: dense, v: nil, diagonal: (0..<n).map { dense[$0 * n + $0] }) }

    /// `inv[rows, cols]`. // (rows.count, cols.count)
    func block(_ rows: [Int], _ cols: [Int]) -> [Float] {
        if let dense { return gather(dense, ld: n, rows: rows, cols: cols) }
        let all = Array(0..<n)
        let vr = gather(v!, ld: n, rows: rows, cols: all), vc = gather(v!, ld: n, rows: cols, cols: all)
        var out = [Float](repeating: 0, count: rows.count * cols.count)
        vr.withUnsafeBufferPointer { a in vc.withUnsafeBufferPointer { b in out.withUnsafeMutableBufferPointer { o in
            sgemm(transB: true, m: rows.count, n: cols.count, k: n, a.baseAddress!, lda: n, b.baseAddress!, ldb: n,
                  o.baseAddress!, ldc: cols.count)
        } } }
        return out
    }

    /// `inv[:, cols]`, as `V · V[cols, :]ᵀ` with a triangular product when factored. // (n, cols.count)
    func columns(_ cols: [Int]) -> [Float] {
        guard let v else { return block(Array(0..<n), cols) }
        let k = cols.count
        var out = [Float](repeating: 0, count: n * k)  // V[cols, :]ᵀ, then V · that
        for (j, c) in cols.enumerated() { for i in c..<n { out[i * k + j] = v[c * n + i] } }
        if k > 0 {
            v.withUnsafeBufferPointer { pv in out.withUnsafeMutableBufferPointer { po in
                strmmUpperLeft(n: n, k: k, pv.baseAddress!, ldu: n, po.baseAddress!, ldb: k)
            } }
        }
        return out
    }

    /// `inv[rows, :]` (the transpose of `columns(rows)`). // (rows.count, n)
    func rowBlock(_ rows: [Int]) -> [Float] {
        if let dense { return gather(dense, ld: n, rows: rows, cols: Array(0..<n)) }
        let c = columns(rows), k = rows.count
        var out = [Float](repeating: 0, count: k * n)
        for i in 0..<n { for j in 0..<k { out[j * n + i] = c[i * k + j] } }
        return out
    }

    /// The whole inverse. // (n, n)
    func full() -> [Float] { dense ?? columns(Array(0..<n)) }

    /// `inv[i, j]` for a single entry.
    subscript(i: Int, j: Int) -> Float {
        if let dense { return dense[i * n + j] }
        var s: Float = 0
        v!.withUnsafeBufferPointer { p in s = dot(p.baseAddress! + i * n, p.baseAddress! + j * n, n) }
        return s
    }
}
