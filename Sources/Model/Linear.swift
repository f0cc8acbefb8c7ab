import Checkpoint
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
    /// How the weight is held: fp32, or 16 bits for a model whose fp32 weights do not fit its memory plan.
    public enum Storage: Sendable, Equatable {
        case f32([Float])
        case half(HalfTensor.Kind, [UInt16])
    }
    /// The weight as stored. // (R, C0), row-major
    public var storage: Storage
    /// `(R)`, or `nil` when the layer has no bias.
    public var bias: [Float]?

    /// `(R, C0)`, row-major, in fp32. For 16-bit storage reading materialises an fp32 copy and writing rounds
    /// to the stored format (exact zeros stay zeros); read it once per use, not per element.
    public var weight: [Float] {
        get {
            switch storage {
            case .f32(let w): return w
            case .half(let k, let b): return HalfTensor.decode(b, k)
            }
        }
        set {
            switch storage {
            case .f32: storage = .f32(newValue)
            case .half(let k, _): storage = .half(k, HalfTensor.encode(newValue, k))
            }
        }
        _modify {
            // fp32: mutate the stored array in place (no copy-on-write of the whole matrix per element written).
            if case .f32(var w) = storage {
                storage = .f32([])
                defer { storage = .f32(w) }
                yield &w
            } else {
                var w = weight
                defer { weight = w }
                yield &w
            }
        }
    }

    /// The 16-bit format, or `nil` for fp32.
    public var halfKind: HalfTensor.Kind? { if case .half(let k, _) = storage { return k }; return nil }

    /// The place of a Linear in its block. OPT maps `out_proj` to `o`, `fc1` to `up`, `fc2` to `down`.
    public enum Role: String, Sendable, CaseIterable {
        case q, k, v, o, gate, up, down

        /// q, k, v and o (Llama's `attention_bias` covers these; `mlp_bias` the others).
        public var isAttention: Bool { self == .q || self == .k || self == .v || self == .o }
    }

    public init(name: String, role: Role, rows: Int, cols: Int, weight: [Float], bias: [Float]?) {
        precondition(weight.count == rows * cols, "Linear \(name): weight has \(weight.count) elements, want \(rows)×\(cols)")
        self.name = name; self.role = role; self.rows = rows; self.cols = cols
        self.storage = .f32(weight); self.bias = bias
    }

    /// A Linear whose weight stays in 16 bits.
    public init(name: String, role: Role, rows: Int, cols: Int, half: HalfTensor, bias: [Float]?) {
        precondition(half.count == rows * cols, "Linear \(name): weight has \(half.count) elements, want \(rows)×\(cols)")
        self.name = name; self.role = role; self.rows = rows; self.cols = cols
        self.storage = .half(half.kind, half.bits); self.bias = bias
    }

    /// Runs `body` with the fp32 weight: the stored array, or for 16-bit storage one fp32 copy made for the call.
    @inlinable
    func withWeight<T>(_ body: (UnsafePointer<Float>) -> T) -> T {
        switch storage {
        case .f32(let w):
            return w.withUnsafeBufferPointer { body($0.baseAddress!) }
        case .half(let k, let b):
            let n = rows * cols
            let tmp = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            defer { tmp.deallocate() }
            b.withUnsafeBufferPointer { HalfTensor.decode($0.baseAddress!, into: tmp, count: n, k) }
            return body(tmp)
        }
    }

    /// `out (N, R) = inp (N, C0) · Wᵀ + b`.
    @inlinable
    func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, n: Int) {
        withWeight { w in
            if let bias {
                bias.withUnsafeBufferPointer { b in
                    linearForward(out, inp, w, b.baseAddress!, n: n, c: cols, r: rows)
                }
            } else {
                linearForward(out, inp, w, nil, n: n, c: cols, r: rows)
            }
        }
    }

    /// `dinp (N, C0) (+)= dout (N, R) · W`.
    @inlinable
    func backwardInput(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>, n: Int, accumulate: Bool) {
        withWeight { w in
            linearBackwardInput(dinp, dout, w, n: n, c: cols, r: rows, accumulate: accumulate)
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
