import Foundation

/// Vectorised `exp` for softmax, cross-entropy and SiLU (Cephes `expf` polynomial, about 2 ulp on
/// [−87, 88]; inputs below −87 give ≈ 0). `expf` from libm does not vectorise and dominated the softmax.
@inlinable
public func fastExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let xc = x.clamped(lowerBound: SIMD8(repeating: -87.3), upperBound: SIMD8(repeating: 88.3))
    let n = (xc * 1.442_695_04).rounded(.toNearestOrEven)
    let r = xc - n * 0.693_359_375 + n * 2.121_944_4e-4
    var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    let e = p * r * r + r + 1
    let bits = (SIMD8<Int32>(n, rounding: .towardZero) &+ 127) &<< 23
    return e * unsafeBitCast(bits, to: SIMD8<Float>.self)
}

/// `y[i] = exp(x[i] − shift)` for `count` elements (in place allowed); returns `Σ y`.
@inlinable
@discardableResult
public func expShifted(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int, shift: Float) -> Float {
    var acc = SIMD8<Float>(repeating: 0)
    var i = 0
    let s = SIMD8<Float>(repeating: shift)
    while i + 8 <= count {
        let v = fastExp(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) - s)
        UnsafeMutableRawPointer(y + i).storeBytes(of: v, as: SIMD8<Float>.self)
        acc += v
        i += 8
    }
    var tail: Float = 0
    while i < count {
        var v = SIMD8<Float>(repeating: -100); v[0] = x[i] - shift
        let e = fastExp(v)[0]
        y[i] = e; tail += e
        i += 1
    }
    return acc.sum() + tail
}

/// Largest of `count` elements (−∞ when empty).
@inlinable
public func maxElement(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var m = SIMD8<Float>(repeating: -.infinity)
    var i = 0
    while i + 8 <= count { m = pointwiseMax(m, UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)); i += 8 }
    var r = m.max()
    while i < count { r = max(r, x[i]); i += 1 }
    return r
}
