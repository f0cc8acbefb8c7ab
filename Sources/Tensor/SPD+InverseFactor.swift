import CBLAS

extension SPD {
    /// `V = L⁻ᵀ` for `M = L Lᵀ` (Cholesky), upper triangular and row-major, so that `M⁻¹ = V Vᵀ`:
    /// `[M⁻¹]_ij` is the dot product of rows `i` and `j` of `V`. Costs `dpotrf` + `dtrtri` (2n³/3 flops),
    /// a third less than the full inverse, when only some entries of `M⁻¹` are needed.
    public static func inverseFactor(_ m: [Double], n: Int) throws -> [Double] {
        var a = m
        try factor(&a, n: n)
        let info = a.withUnsafeMutableBufferPointer {
            LAPACKE_dtrtri(LAPACK_COL_MAJOR, Int8(UInt8(ascii: "L")), Int8(UInt8(ascii: "N")), Int32(n), $0.baseAddress, Int32(n))
        }
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dtrtri", info: Int(info)) }
        // Column-major lower L⁻¹ is row-major upper L⁻ᵀ; clear the untouched strictly-lower part.
        for i in 0..<n { for j in 0..<i { a[i * n + j] = 0 } }
        return a
    }
}
