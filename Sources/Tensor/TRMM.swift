import CBLAS

/// `B[n×k] = U · B` in place, for an upper-triangular row-major `U` (n×n) and row-major `B` (leading dimension `ldb`).
@inlinable
public func strmmUpperLeft(n: Int, k: Int, _ u: UnsafePointer<Float>, ldu: Int, _ b: UnsafeMutablePointer<Float>, ldb: Int) {
    cblas_strmm(CblasRowMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, Int32(n), Int32(k), 1,
                u, Int32(ldu), b, Int32(ldb))
}
