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

    /// `inv[:, cols]`. // (n, cols.count)
    func columns(_ cols: [Int]) -> [Float] { block(Array(0..<n), cols) }

    /// The whole inverse. // (n, n)
    func full() -> [Float] { dense ?? block(Array(0..<n), Array(0..<n)) }

    /// `inv[i, j]` for a single entry.
    subscript(i: Int, j: Int) -> Float {
        if let dense { return dense[i * n + j] }
        var s: Float = 0
        v!.withUnsafeBufferPointer { p in s = dot(p.baseAddress! + i * n, p.baseAddress! + j * n, n) }
        return s
    }
}
