import Tensor

/// Rows and columns of one matrix that still take part in the OBS problem (method.md §4: a row is dead if
/// it is all-zero in Θ or `G_rr = 0`; a column if it is all-zero or `A_cc = 0`).
public struct LiveSet: Sendable, Equatable {
    /// Live rows in ascending order (full coordinates).
    public var rows: [Int]
    /// Live columns in ascending order (full coordinates).
    public var cols: [Int]

    public init(rows: [Int], cols: [Int]) { self.rows = rows; self.cols = cols }

    /// Finds the live rows and columns of `theta` (R×C). `gDiag`/`aDiag` nil means "never zero" (identity factor).
    public static func find(theta: Tensor, gDiag: [Float]?, aDiag: [Float]?) -> LiveSet {
        let R = theta.rows, C = theta.cols
        var rowAlive = [Bool](repeating: false, count: R)
        var colAlive = [Bool](repeating: false, count: C)
        theta.data.withUnsafeBufferPointer { p in
            for r in 0..<R {
                let base = r * C
                for c in 0..<C where p[base + c] != 0 {
                    rowAlive[r] = true; colAlive[c] = true
                }
            }
        }
        if let gDiag { for r in 0..<R where !(gDiag[r] > 0) { rowAlive[r] = false } }
        if let aDiag { for c in 0..<C where !(aDiag[c] > 0) { colAlive[c] = false } }
        return LiveSet(rows: (0..<R).filter { rowAlive[$0] }, cols: (0..<C).filter { colAlive[$0] })
    }

    /// Zeroes every dead row and column of `theta` in place (the reference does this in the model).
    public func zeroDead(in theta: inout Tensor) {
        let R = theta.rows, C = theta.cols
        var rowLive = [Bool](repeating: false, count: R), colLive = [Bool](repeating: false, count: C)
        for r in rows { rowLive[r] = true }
        for c in cols { colLive[c] = true }
        theta.data.withUnsafeMutableBufferPointer { p in
            for r in 0..<R {
                if !rowLive[r] { for c in 0..<C { p[r * C + c] = 0 }; continue }
                for c in 0..<C where !colLive[c] { p[r * C + c] = 0 }
            }
        }
    }
}

/// `(s·M[live,live] + δ·mean(diag)·I)⁻¹` of the live sub-matrix, by Cholesky in fp64, returned in fp32.
/// // result: (k, k) with k = live.count
public func dampedInverse(_ m: SymmetricFactor, scale: Float, live: [Int], damping: Double) throws -> [Float] {
    if live.isEmpty { return [] }
    let inv = try SPD.inverse(dampedSubmatrix(m, scale: scale, live: live, damping: damping), n: live.count)
    return inv.map { Float($0) }
}

/// `s·M[live,live] + δ·mean(diag)·I` in fp64. // (k, k)
func dampedSubmatrix(_ m: SymmetricFactor, scale: Float = 1, live: [Int], damping: Double) -> [Double] {
    let k = live.count
    var sub = [Double](repeating: 0, count: k * k)
    let n = m.n, s = Double(scale)
    m.data.withUnsafeBufferPointer { p in
        for (i, gi) in live.enumerated() {
            for (j, gj) in live.enumerated() { sub[i * k + j] = s * Double(p[gi * n + gj]) }
        }
    }
    var meanDiag = 0.0
    for i in 0..<k { meanDiag += sub[i * k + i] }
    meanDiag /= Double(k)
    let lambda = damping * meanDiag
    for i in 0..<k { sub[i * k + i] += lambda }
    return sub
}

/// Gathers `m[rows, cols]` of a row-major matrix with `ld` columns into a dense `rows.count × cols.count` buffer.
func gather(_ m: [Float], ld: Int, rows: [Int], cols: [Int]) -> [Float] {
    var out = [Float](repeating: 0, count: rows.count * cols.count)
    let w = cols.count
    m.withUnsafeBufferPointer { p in
        out.withUnsafeMutableBufferPointer { o in
            for (i, r) in rows.enumerated() {
                let base = r * ld
                for (j, c) in cols.enumerated() { o[i * w + j] = p[base + c] }
            }
        }
    }
    return out
}

/// Writes a dense `rows.count × cols.count` buffer into `m[rows, cols]` (row-major, `ld` columns).
func scatter(_ src: [Float], into m: inout [Float], ld: Int, rows: [Int], cols: [Int]) {
    let w = cols.count
    src.withUnsafeBufferPointer { s in
        m.withUnsafeMutableBufferPointer { p in
            for (i, r) in rows.enumerated() {
                let base = r * ld
                for (j, c) in cols.enumerated() { p[base + c] = s[i * w + j] }
            }
        }
    }
}
