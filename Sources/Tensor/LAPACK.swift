import CBLAS

/// Errors from the dense linear-algebra wrappers.
public enum LinearAlgebraError: Error, CustomStringConvertible, Equatable {
    /// The matrix is not positive definite (LAPACK `info` > 0 at that leading minor).
    case notPositiveDefinite(order: Int, minor: Int)
    /// LAPACK reported an illegal argument or failed to converge.
    case lapack(routine: String, info: Int)

    public var description: String {
        switch self {
        case let .notPositiveDefinite(n, minor):
            return "matrix of order \(n) is not positive definite (leading minor \(minor)); increase damping"
        case let .lapack(routine, info):
            return "\(routine) failed with info = \(info)"
        }
    }
}

/// Symmetric positive-definite matrices in fp64, stored row-major `n×n` (symmetric, so the
/// storage order does not matter for the input; outputs are full symmetric matrices).
public enum SPD {
    /// In-place Cholesky factorisation: on return the upper triangle holds `U` with `M = Uᵀ U`
    /// (column-major lower `L`, which is the same memory for a symmetric input).
    public static func factor(_ m: inout [Double], n: Int) throws {
        try m.withUnsafeMutableBufferPointer { try factor($0.baseAddress!, n: n) }
    }

    /// `factor` on raw storage (only the column-major lower triangle is read).
    public static func factor(_ m: UnsafeMutablePointer<Double>, n: Int) throws {
        let info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), m, Int32(n))
        if info > 0 { throw LinearAlgebraError.notPositiveDefinite(order: n, minor: Int(info)) }
        if info < 0 { throw LinearAlgebraError.lapack(routine: "dpotrf", info: Int(info)) }
    }

    /// The inverse of a symmetric positive-definite matrix, by Cholesky (`dpotrf` + `dpotri`).
    public static func inverse(_ m: [Double], n: Int) throws -> [Double] {
        var a = m
        try factor(&a, n: n)
        let info = a.withUnsafeMutableBufferPointer {
            LAPACKE_dpotri(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), $0.baseAddress, Int32(n))
        }
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dpotri", info: Int(info)) }
        // Column-major lower triangle is filled; mirror it (row-major view: upper from lower).
        for c in 0..<n { for r in (c + 1)..<max(c + 1, n) { a[r * n + c] = a[c * n + r] } }
        return a
    }

    /// Solves `M x = b` in place for one right-hand side, reading only the row-major upper triangle of `m`
    /// (column-major lower), which is overwritten by the Cholesky factor. No copy: for hot loops that reuse `m`.
    public static func solveUpper(_ m: UnsafeMutablePointer<Double>, n: Int, _ b: UnsafeMutablePointer<Double>) throws {
        try factor(m, n: n)
        let info = LAPACKE_dpotrs(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), 1, m, Int32(n), b, Int32(n))
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dpotrs", info: Int(info)) }
    }

    /// Solves `M X = B` for `nrhs` right-hand sides. `b` is column-major `n×nrhs` (each right-hand side
    /// contiguous), and is overwritten by `X`.
    public static func solve(_ m: [Double], n: Int, _ b: inout [Double], nrhs: Int) throws {
        var a = m
        try factor(&a, n: n)
        let info = a.withUnsafeBufferPointer { pa in
            b.withUnsafeMutableBufferPointer { pb in
                LAPACKE_dpotrs(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int32(n), Int32(nrhs),
                               pa.baseAddress, Int32(n), pb.baseAddress, Int32(n))
            }
        }
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dpotrs", info: Int(info)) }
    }

    /// Eigen-decomposition of a symmetric matrix (`dsyevd_work`, which sizes its workspace correctly
    /// for large `n`). Returns ascending eigenvalues and the eigenvectors as the columns of a
    /// column-major `n×n` matrix (equivalently, the rows of the returned row-major buffer).
    public static func eigen(_ m: [Double], n: Int) throws -> (values: [Double], vectors: [Double]) {
        var a = m
        var w = [Double](repeating: 0, count: n)
        let jobz = Int8(UInt8(ascii: "V")), uplo = Int8(UInt8(ascii: "L"))
        var wkopt: Double = 0
        var iwkopt: Int32 = 0
        var info = a.withUnsafeMutableBufferPointer { pa in
            w.withUnsafeMutableBufferPointer { pw in
                LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, jobz, uplo, Int32(n), pa.baseAddress, Int32(n),
                                    pw.baseAddress, &wkopt, -1, &iwkopt, -1)
            }
        }
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dsyevd (query)", info: Int(info)) }
        var work = [Double](repeating: 0, count: Int(wkopt))
        var iwork = [Int32](repeating: 0, count: Int(iwkopt))
        info = a.withUnsafeMutableBufferPointer { pa in
            w.withUnsafeMutableBufferPointer { pw in
                work.withUnsafeMutableBufferPointer { pwork in
                    iwork.withUnsafeMutableBufferPointer { piwork in
                        LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, jobz, uplo, Int32(n), pa.baseAddress, Int32(n),
                                            pw.baseAddress, pwork.baseAddress, Int32(pwork.count),
                                            piwork.baseAddress, Int32(piwork.count))
                    }
                }
            }
        }
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dsyevd", info: Int(info)) }
        return (w, a)
    }
}
