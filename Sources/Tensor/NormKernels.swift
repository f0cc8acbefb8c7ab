/// RMSNorm and LayerNorm over the last dimension, forward beside backward.

/// RMSNorm: `out = w ⊙ x · rstd`, `rstd = 1/sqrt(mean(x²) + eps)`. Stores `rstd (N)` for the backward.
@inlinable
public func rmsnormForward(_ out: UnsafeMutablePointer<Float>, _ rstd: UnsafeMutablePointer<Float>?,
                           _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                           n: Int, c: Int, eps: Float) {
    for i in 0..<n {
        let x = inp + i * c, y = out + i * c
        var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
        var j = 0
        while j + 4 <= c {
            s0 += x[j] * x[j]; s1 += x[j + 1] * x[j + 1]; s2 += x[j + 2] * x[j + 2]; s3 += x[j + 3] * x[j + 3]
            j += 4
        }
        while j < c { s0 += x[j] * x[j]; j += 1 }
        let r = 1 / ((s0 + s1 + s2 + s3) / Float(c) + eps).squareRoot()
        for j in 0..<c { y[j] = weight[j] * (x[j] * r) }
        rstd?[i] = r
    }
}

/// RMSNorm backward: `dinp (N, C) += ∂L/∂x` given `dout (N, C)`, the forward input and `rstd`.
@inlinable
public func rmsnormBackward(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                            _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                            _ rstd: UnsafePointer<Float>, n: Int, c: Int) {
    for i in 0..<n {
        let x = inp + i * c, dy = dout + i * c, dx = dinp + i * c
        let r = rstd[i]
        var dot: Float = 0
        for j in 0..<c { dot += weight[j] * dy[j] * x[j] }
        let k = r * r * dot / Float(c)
        for j in 0..<c { dx[j] += r * (weight[j] * dy[j] - x[j] * k) }
    }
}

/// LayerNorm: `out = (x − mean) · rstd ⊙ w + b`. Stores `mean (N)` and `rstd (N)` for the backward.
@inlinable
public func layernormForward(_ out: UnsafeMutablePointer<Float>, _ mean: UnsafeMutablePointer<Float>?,
                             _ rstd: UnsafeMutablePointer<Float>?, _ inp: UnsafePointer<Float>,
                             _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
                             n: Int, c: Int, eps: Float) {
    for i in 0..<n {
        let x = inp + i * c, y = out + i * c
        var m: Float = 0
        for j in 0..<c { m += x[j] }
        m /= Float(c)
        var v: Float = 0
        for j in 0..<c { let d = x[j] - m; v += d * d }
        let r = 1 / (v / Float(c) + eps).squareRoot()
        for j in 0..<c { y[j] = (x[j] - m) * r * weight[j] + bias[j] }
        mean?[i] = m; rstd?[i] = r
    }
}

/// LayerNorm backward: `dinp (N, C) += ∂L/∂x`.
@inlinable
public func layernormBackward(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>,
                              _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                              _ mean: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>, n: Int, c: Int) {
    for i in 0..<n {
        let x = inp + i * c, dy = dout + i * c, dx = dinp + i * c
        let m = mean[i], r = rstd[i]
        var dmean: Float = 0, dnormMean: Float = 0
        for j in 0..<c {
            let dn = weight[j] * dy[j]
            dmean += dn; dnormMean += dn * (x[j] - m) * r
        }
        dmean /= Float(c); dnormMean /= Float(c)
        for j in 0..<c {
            let norm = (x[j] - m) * r
            dx[j] += r * (weight[j] * dy[j] - dmean - norm * dnormMean)
        }
    }
}
