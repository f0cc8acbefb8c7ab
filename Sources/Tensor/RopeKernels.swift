/// Rotary position embeddings in Hugging Face's rotate-half layout: for each head, element `i < D/2`
/// pairs with `i + D/2`.

/// Tables `cos`, `sin (P, D/2)` for positions `0..<P`: angle `p · theta^(−2i/D)`.
public func ropeTables(positions p: Int, headDim d: Int, theta: Float) -> (cos: [Float], sin: [Float]) {
    let half = d / 2
    var cosT = [Float](repeating: 0, count: p * half), sinT = cosT
    for i in 0..<half {
        // Hugging Face computes inv_freq and the angles in fp32.
        let invFreq = 1 / Float(Foundation.pow(Double(theta), Double(2 * i) / Double(d)))
        for pos in 0..<p {
            let a = Float(pos) * invFreq
            cosT[pos * half + i] = Foundation.cos(a); sinT[pos * half + i] = Foundation.sin(a)
        }
    }
    return (cosT, sinT)
}

/// Rotates `x (T, H·D)` in place, row `t` at position `pos0 + t`. `inverse` applies the transpose
/// rotation, which is the backward of the forward rotation.
@inlinable
public func ropeApply(_ x: UnsafeMutablePointer<Float>, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>,
                      t: Int, heads: Int, headDim d: Int, pos0: Int, inverse: Bool = false) {
    let half = d / 2, stride = heads * d
    let sgn: Float = inverse ? -1 : 1
    for row in 0..<t {
        let c = cos + (pos0 + row) * half, s = sin + (pos0 + row) * half
        for h in 0..<heads {
            let v = x + row * stride + h * d
            for i in 0..<half {
                let a = v[i], b = v[i + half], si = sgn * s[i]
                v[i] = a * c[i] - b * si
                v[i + half] = b * c[i] + a * si
            }
        }
    }
}

import Foundation
