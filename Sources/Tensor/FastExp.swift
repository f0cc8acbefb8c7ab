import Foundation

/// Vectorised `exp` for softmax, cross-entropy and SiLU (Cephes `expf` polynomial, about 2 ulp on
/// [−87, 88]; inputs below −87 give ≈ 0). `expf` from libm does not vectorise and dominated the softmax.
@inlinable
public func fastExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let xc = pointwiseMin(pointwiseMax(x, SIMD8(repeating: -87.3)), SIMD8(repeating: 88.3))
    // Round x·log2(e) to the nearest integer n with the 1.5·2²³ trick: the low bits of t hold n.
    let t = xc * 1.442_695_04 + 12_582_912
    let n = t - 12_582_912
    let r = xc - n * 0.693_359_375 + n * 2.121_944_4e-4
    var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    let e = p * r * r + r + 1
    // 2ⁿ: exponent field n + 127; bits(t) = 0x4B40_0000 + n.
    let bits = (unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
    return e * unsafeBitCast(bits, to: SIMD8<Float>.self)
}

/// Scalar twin of `fastExp`, written so that loops over it auto-vectorise.
@inlinable @inline(__always)
public func fastExpScalar(_ x: Float) -> Float {
    let xc = Swift.min(Swift.max(x, -87.3), 88.3)
    let t = xc * 1.442_695_04 + 12_582_912
    let n = t - 12_582_912
    let r = xc - n * 0.693_359_375 + n * 2.121_944_4e-4
    var p: Float = 1.987_569_15e-4
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    let e = p * r * r + r + 1
    let bits = (Int32(bitPattern: t.bitPattern) &- 0x4B40_0000 &+ 127) &<< 23
    return e * Float(bitPattern: UInt32(bitPattern: bits))
}

/// `y[i] = exp(x[i] − shift)` for `count` elements (in place allowed); returns `Σ y`.
@inlinable
@discardableResult
public func expShifted(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int, shift: Float) -> Float {
    for i in 0..<count { y[i] = fastExpScalar(x[i] - shift) }
    return sum(y, count: count)
}

/// `Σ x[i]` with eight partial sums.
@inlinable
public func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var acc = SIMD8<Float>(repeating: 0)
    var i = 0
    while i + 8 <= count { acc += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self); i += 8 }
    var tail: Float = 0
    while i < count { tail += x[i]; i += 1 }
    return acc.sum() + tail
}

/// Largest of `count` elements (−∞ when empty); eight running maxima so the loop pipelines.
@inlinable
public func maxElement(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var m0 = -Float.infinity, m1 = m0, m2 = m0, m3 = m0, m4 = m0, m5 = m0, m6 = m0, m7 = m0
    var i = 0
    while i + 8 <= count {
        m0 = x[i] > m0 ? x[i] : m0; m1 = x[i + 1] > m1 ? x[i + 1] : m1
        m2 = x[i + 2] > m2 ? x[i + 2] : m2; m3 = x[i + 3] > m3 ? x[i + 3] : m3
        m4 = x[i + 4] > m4 ? x[i + 4] : m4; m5 = x[i + 5] > m5 ? x[i + 5] : m5
        m6 = x[i + 6] > m6 ? x[i + 6] : m6; m7 = x[i + 7] > m7 ? x[i + 7] : m7
        i += 8
    }
    while i < count { m0 = x[i] > m0 ? x[i] : m0; i += 1 }
    return Swift.max(Swift.max(Swift.max(m0, m1), Swift.max(m2, m3)), Swift.max(Swift.max(m4, m5), Swift.max(m6, m7)))
}
