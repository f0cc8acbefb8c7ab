import CBLAS

/// Row-major single-precision matrix products on OpenBLAS.
///
/// `C[m×n] = alpha · op(A) · op(B) + beta · C`, where `op(A)` is `m×k` and `op(B)` is `k×n`.
/// Leading dimensions are the row strides of the matrices as stored (before transposition).
@inlinable
public func sgemm(
    transA: Bool = false, transB: Bool = false,
    m: Int, n: Int, k: Int,
    alpha: Float = 1, _ a: UnsafePointer<Float>, lda: Int,
    _ b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int
) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Row-major double-precision matrix product, `C = alpha · op(A) · op(B) + beta · C`.
@inlinable
public func dgemm(
    transA: Bool = false, transB: Bool = false,
    m: Int, n: Int, k: Int,
    alpha: Double = 1, _ a: UnsafePointer<Double>, lda: Int,
    _ b: UnsafePointer<Double>, ldb: Int,
    beta: Double = 0, _ c: UnsafeMutablePointer<Double>, ldc: Int
) {
    cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Symmetric rank-k update of the upper triangle, row-major: `C[n×n] += alpha · Xᵀ X` for `X` of `k×n`
/// (one row per token). Only the upper triangle of `C` is written; call `symmetrizeUpper` when done.
@inlinable
public func ssyrkAccumulate(n: Int, k: Int, alpha: Float = 1, _ x: UnsafePointer<Float>, ldx: Int,
                            _ c: UnsafeMutablePointer<Float>, ldc: Int) {
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(n), Int32(k), alpha, x, Int32(ldx), 1, c, Int32(ldc))
}

/// Copies the upper triangle of a row-major `n×n` matrix onto its lower triangle.
public func symmetrizeUpper(_ c: UnsafeMutablePointer<Float>, n: Int) {
    for i in 0..<n { for j in 0..<i { c[i * n + j] = c[j * n + i] } }
}

/// `Tensor` conveniences for 2-D products. `a · b` (or `a · bᵀ`) as a new tensor.
public func matmul(_ a: Tensor, _ b: Tensor, transposeB: Bool = false) -> Tensor {
    let m = a.rows, k = a.cols
    let n = transposeB ? b.rows : b.cols
    precondition((transposeB ? b.cols : b.rows) == k, "matmul: inner dimensions \(a.shape) × \(b.shape) disagree")
    var out = Tensor(shape: [m, n])
    a.data.withUnsafeBufferPointer { pa in
        b.data.withUnsafeBufferPointer { pb in
            out.data.withUnsafeMutableBufferPointer { pc in
                sgemm(transB: transposeB, m: m, n: n, k: k, pa.baseAddress!, lda: k,
                      pb.baseAddress!, ldb: b.cols, pc.baseAddress!, ldc: n)
            }
        }
    }
    return out
}

/// The naive twin of `matmul`, for tests.
public func matmulNaive(_ a: Tensor, _ b: Tensor, transposeB: Bool = false) -> Tensor {
    let m = a.rows, k = a.cols
    let n = transposeB ? b.rows : b.cols
    var out = Tensor(shape: [m, n])
    for i in 0..<m { for j in 0..<n {
        var s: Double = 0
        for p in 0..<k { s += Double(a[i, p]) * Double(transposeB ? b[j, p] : b[p, j]) }
        out[i, j] = Float(s)
    } }
    return out
}

/// Sets the configured number of threads OpenBLAS uses (`BLASThreads.configure`): at once, or, while a
/// single-threaded section runs, when the last one ends.
public func setBLASThreads(_ n: Int) { BLASThreads.configure(n) }

/// The number of threads OpenBLAS currently uses (1 inside a single-threaded section).
public func blasThreads() -> Int { Int(openblas_get_num_threads()) }
