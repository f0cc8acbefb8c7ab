import Tensor

/// A prunable Linear layer, `y = x Wᵀ + b`, with its weight stored PyTorch-style.
///
/// The pruning engine reads and writes `weight` (and `bias`) in place through
/// `TransformerModel.subscript(linear:)` or `blocks[l].linears[i]`.
public struct Linear: Sendable, Equatable {
    /// Hugging Face module name, e.g. `model.layers.0.self_attn.q_proj` (tensor names add `.weight`/`.bias`).
    public let name: String
    /// What the layer computes inside its block.
    public let role: Role
    /// Output features `R`.
    public let rows: Int
    /// Input features `C0`.
    public let cols: Int
    /// `(R, C0)`, row-major.
    public var weight: [Float]
    /// `(R)`, or `nil` when the layer has no bias.
    public var bias: [Float]?

    /// The place of a Linear in its block. OPT maps `out_proj` to `o`, `fc1` to `up`, `fc2` to `down`.
    public enum Role: String, Sendable, CaseIterable {
        case q, k, v, o, gate, up, down
    }

    public init(name: String, role: Role, rows: Int, cols: Int, weight: [Float], bias: [Float]?) {
        precondition(weight.count == rows * cols, "Linear \(name): weight has \(weight.count) elements, want \(rows)×\(cols)")
        self.name = name; self.role = role; self.rows = rows; self.cols = cols
        self.weight = weight; self.bias = bias
    }

    /// `out (N, R) = inp (N, C0) · Wᵀ + b`.
    @inlinable
    func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, n: Int) {
        weight.withUnsafeBufferPointer { w in
            if let bias {
                bias.withUnsafeBufferPointer { b in
                    linearForward(out, inp, w.baseAddress!, b.baseAddress!, n: n, c: cols, r: rows)
                }
            } else {
                linearForward(out, inp, w.baseAddress!, nil, n: n, c: cols, r: rows)
            }
        }
    }

    /// `dinp (N, C0) (+)= dout (N, R) · W`.
    @inlinable
    func backwardInput(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>, n: Int, accumulate: Bool) {
        weight.withUnsafeBufferPointer { w in
            linearBackwardInput(dinp, dout, w.baseAddress!, n: n, c: cols, r: rows, accumulate: accumulate)
        }
    }
}

/// Addresses one prunable Linear: block `layer`, position `index` in that block's `linears`
/// (Llama: q, k, v, o, gate, up, down; OPT: q, k, v, out, fc1, fc2).
public struct LinearID: Hashable, Sendable, CustomStringConvertible {
    public var layer: Int
    public var index: Int
    public init(layer: Int, index: Int) { self.layer = layer; self.index = index }
    public var description: String { "L\(layer).\(index)" }
}
