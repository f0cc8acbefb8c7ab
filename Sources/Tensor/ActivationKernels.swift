import Foundation

/// Feed-forward non-linearities, forward beside backward.

/// SwiGLU: `out (N, F) = silu(gate) ⊙ up`.
@inlinable
public func swigluForward(_ out: UnsafeMutablePointer<Float>, _ gate: UnsafePointer<Float>,
                          _ up: UnsafePointer<Float>, count: Int) {
    var i = 0
    while i + 8 <= count {
        let g = UnsafeRawPointer(gate + i).loadUnaligned(as: SIMD8<Float>.self)
        let u = UnsafeRawPointer(up + i).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(out + i).storeBytes(of: g / (1 + fastExp(-g)) * u, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        let g = gate[i]
        out[i] = g / (1 + expf(-g)) * up[i]
        i += 1
    }
}

/// SwiGLU backward: `dgate`, `dup (N, F)` from `dout (N, F)` and the forward inputs.
@inlinable
public func swigluBackward(_ dgate: UnsafeMutablePointer<Float>, _ dup: UnsafeMutablePointer<Float>,
                           _ dout: UnsafePointer<Float>, _ gate: UnsafePointer<Float>,
                           _ up: UnsafePointer<Float>, count: Int) {
    var i = 0
    while i + 8 <= count {
        let g = UnsafeRawPointer(gate + i).loadUnaligned(as: SIMD8<Float>.self)
        let u = UnsafeRawPointer(up + i).loadUnaligned(as: SIMD8<Float>.self)
        let d = UnsafeRawPointer(dout + i).loadUnaligned(as: SIMD8<Float>.self)
        let s = 1 / (1 + fastExp(-g))
        UnsafeMutableRawPointer(dup + i).storeBytes(of: d * g * s, as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(dgate + i).storeBytes(of: d * u * s * (1 + g * (1 - s)), as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        let g = gate[i]
        let s = 1 / (1 + expf(-g))
        dup[i] = dout[i] * g * s
        dgate[i] = dout[i] * up[i] * s * (1 + g * (1 - s))
        i += 1
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
