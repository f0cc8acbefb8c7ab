import Tensor

/// `out[r] = scale · (Θ M Θᵀ)_rr` for Θ (R, C) and symmetric M (C, C); also returns `Θ M` (R, C) for reuse.
func rowQuadraticForms(_ out: inout [Float], theta: [Float], m: [Float], scale: Float, R: Int, C: Int) -> [Float] {
    var tm = [Float](repeating: 0, count: R * C)  // (R, C)
    theta.withUnsafeBufferPointer { pt in m.withUnsafeBufferPointer { pm in tm.withUnsafeMutableBufferPointer { po in
        sgemm(m: R, n: C, k: C, alpha: scale, pt.baseAddress!, lda: C, pm.baseAddress!, ldb: C, po.baseAddress!, ldc: C)
    } } }
    tm.withUnsafeBufferPointer { a in theta.withUnsafeBufferPointer { b in
        for r in 0..<R { out[r] = dot(a.baseAddress! + r * C, b.baseAddress! + r * C, C) }
    } }
    return tm
}

/// `out[c] = scale · (Θᵀ M Θ)_cc` for Θ (R, C) and symmetric M (R, R); also returns `M Θ` (R, C).
func columnQuadraticForms(_ out: inout [Float], theta: [Float], m: [Float], scale: Float, R: Int, C: Int) -> [Float] {
    var mt = [Float](repeating: 0, count: R * C)  // (R, C)
    theta.withUnsafeBufferPointer { pt in m.withUnsafeBufferPointer { pm in mt.withUnsafeMutableBufferPointer { po in
        sgemm(m: R, n: C, k: R, alpha: scale, pm.baseAddress!, lda: R, pt.baseAddress!, ldb: C, po.baseAddress!, ldc: C)
    } } }
    var acc = [Double](repeating: 0, count: C)
    mt.withUnsafeBufferPointer { a in theta.withUnsafeBufferPointer { b in
        for r in 0..<R { let base = r * C; for c in 0..<C { acc[c] += Double(a[base + c] * b[base + c]) } }
    } }
    for c in 0..<C { out[c] = Float(acc[c]) }
    return mt
}

/// The naive twin of both quadratic-form kernels: `diag(Θ M Θᵀ)` (rows) or `diag(Θᵀ M Θ)` (columns), in Double.
func quadraticFormsNaive(theta: [Float], m: [Float], R: Int, C: Int, rows: Bool) -> [Float] {
    if rows {
        return (0..<R).map { r in
            var s = 0.0
            for i in 0..<C { for j in 0..<C { s += Double(theta[r * C + i]) * Double(m[i * C + j]) * Double(theta[r * C + j]) } }
            return Float(s)
        }
    }
    return (0..<C).map { c in
        var s = 0.0
        for i in 0..<R { for j in 0..<R { s += Double(theta[i * C + c]) * Double(m[i * R + j]) * Double(theta[j * C + c]) } }
        return Float(s)
    }
}

/// Dot product with four partial accumulators.
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
    var i = 0
    while i + 4 <= n {
        s0 += a[i] * b[i]; s1 += a[i + 1] * b[i + 1]; s2 += a[i + 2] * b[i + 2]; s3 += a[i + 3] * b[i + 3]
        i += 4
    }
    while i < n { s0 += a[i] * b[i]; i += 1 }
    return (s0 + s1) + (s2 + s3)
}

/// `out[r, c] = ½ Θ_rc² · u_r · v_c`, NaN/Inf → 0. This is every element cost of §4 with the right `u`, `v`.
/// // out, theta: (R, C); u: (R); v: (C)
func scaledSquareCosts(_ out: inout [Float], theta: [Float], u: [Float], v: [Float], R: Int, C: Int) {
    out.withUnsafeMutableBufferPointer { o in theta.withUnsafeBufferPointer { t in
        for r in 0..<R {
            let ur = 0.5 * u[r], base = r * C
            for c in 0..<C {
                let x = t[base + c]
                let cost = x * x * ur * v[c]
                o[base + c] = cost.isFinite ? cost : 0
            }
        }
    } }
}

/// Replaces NaN/Inf by 0 (the reference sets NaN costs and updates to 0).
func zeroNonFinite(_ x: inout [Float]) {
    x.withUnsafeMutableBufferPointer { p in for i in 0..<p.count where !p[i].isFinite { p[i] = 0 } }
}

/// `1/x`, or 0 where `x` is 0 (dead structures).
func reciprocalOrZero(_ x: [Float]) -> [Float] { x.map { $0 != 0 && $0.isFinite ? 1 / $0 : 0 } }
