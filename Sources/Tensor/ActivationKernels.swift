import Foundation

/// Feed-forward non-linearities, forward beside backward.

/// SwiGLU: `out (N, F) = silu(gate) ⊙ up`.
@inlinable
public func swigluForward(_ out: UnsafeMutablePointer<Float>, _ gate: UnsafePointer<Float>,
                          _ up: UnsafePointer<Float>, count: Int) {
    for i in 0..<count {
        let g = gate[i]
        out[i] = g / (1 + fastExpScalar(-g)) * up[i]
    }
}

/// SwiGLU backward: `dgate`, `dup (N, F)` from `dout (N, F)` and the forward inputs.
@inlinable
public func swigluBackward(_ dgate: UnsafeMutablePointer<Float>, _ dup: UnsafeMutablePointer<Float>,
                           _ dout: UnsafePointer<Float>, _ gate: UnsafePointer<Float>,
                           _ up: UnsafePointer<Float>, count: Int) {
    for i in 0..<count {
        let g = gate[i]
        let s = 1 / (1 + fastExpScalar(-g))
        dup[i] = dout[i] * g * s
        dgate[i] = dout[i] * up[i] * s * (1 + g * (1 - s))
    }
}

/// ReLU in place: `x (N, F) = max(x, 0)`.
@inlinable
public func reluForward(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count where x[i] < 0 { x[i] = 0 }
}

/// ReLU backward in place: `d (N, F)` zeroed where the forward output `y` was 0.
@inlinable
public func reluBackward(_ d: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
    for i in 0..<count where y[i] <= 0 { d[i] = 0 }
}

/// GeGLU with tanh GELU (Gemma's `gelu_pytorch_tanh`): `out (N, F) = gelu(gate) ⊙ up`,
/// `gelu(g) = ½·g·(1 + tanh(√(2/π)·(g + 0.044715·g³)))`.
@inlinable
public func gegluTanhForward(_ out: UnsafeMutablePointer<Float>, _ gate: UnsafePointer<Float>,
                             _ up: UnsafePointer<Float>, count: Int) {
    let c: Float = 0.7978845608028654  // √(2/π)
    for i in 0..<count {
        let g = gate[i]
        out[i] = 0.5 * g * (1 + Foundation.tanh(c * (g + 0.044715 * g * g * g))) * up[i]
    }
}

/// GeGLU backward: `dgate`, `dup (N, F)` from `dout (N, F)` and the forward inputs.
@inlinable
public func gegluTanhBackward(_ dgate: UnsafeMutablePointer<Float>, _ dup: UnsafeMutablePointer<Float>,
                              _ dout: UnsafePointer<Float>, _ gate: UnsafePointer<Float>,
                              _ up: UnsafePointer<Float>, count: Int) {
    let c: Float = 0.7978845608028654
    for i in 0..<count {
        let g = gate[i]
        let th = Foundation.tanh(c * (g + 0.044715 * g * g * g))
        let gelu = 0.5 * g * (1 + th)
        let dgelu = 0.5 * (1 + th) + 0.5 * g * (1 - th * th) * c * (1 + 3 * 0.044715 * g * g)
        dup[i] = dout[i] * gelu
        dgate[i] = dout[i] * up[i] * dgelu
    }
}
