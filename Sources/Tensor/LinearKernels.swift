/// Linear layer kernels, `y = x Wᵀ + b`, with `W` stored PyTorch-style as `(R, C)`.

/// `out (N, R) = inp (N, C) · Wᵀ + bias`.
@inlinable
public func linearForward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                          _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                          n: Int, c: Int, r: Int) {
    guard n > 0, r > 0 else { return }
    if let bias {
        for i in 0..<n { (out + i * r).update(from: bias, count: r) }
    }
    guard c > 0 else {
        if bias == nil { out.update(repeating: 0, count: n * r) }
        return
    }
    sgemm(transB: true, m: n, n: r, k: c, inp, lda: c, weight, ldb: c, beta: bias == nil ? 0 : 1, out, ldc: r)
}

/// `dinp (N, C) (+)= dout (N, R) · W`; accumulates when `accumulate` is true.
@inlinable
public func linearBackwardInput(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                                _ weight: UnsafePointer<Float>, n: Int, c: Int, r: Int, accumulate: Bool) {
    guard n > 0, c > 0 else { return }
    guard r > 0 else {
        if !accumulate { dinp.update(repeating: 0, count: n * c) }
        return
    }
    sgemm(m: n, n: c, k: r, dout, lda: r, weight, ldb: c, beta: accumulate ? 1 : 0, dinp, ldc: c)
}

/// Naive twin of `linearForward`, for tests.
public func linearForwardNaive(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                               _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                               n: Int, c: Int, r: Int) {
    for i in 0..<n {
        for o in 0..<r {
            var s: Double = bias.map { Double($0[o]) } ?? 0
            for j in 0..<c { s += Double(inp[i * c + j]) * Double(weight[o * c + j]) }
            out[i * r + o] = Float(s)
        }
    }
}
