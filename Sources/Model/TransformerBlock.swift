/// One decoder block: attention and feed-forward sub-blocks, each pre-normalised with a residual.
///
/// A block with `heads == 0` skips attention; one with `ffnWidth == 0` skips the FFN (compact models).
public struct TransformerBlock: Sendable, Equatable {
    /// Normalisation before attention (`input_layernorm` / `self_attn_layer_norm`).
    public var attentionNorm: Norm
    /// Normalisation before the FFN (`post_attention_layernorm` / `final_layer_norm`).
    public var ffnNorm: Norm
    /// Prunable Linears in engine order: q, k, v, o, gate, up, down (Llama) or q, k, v, out, fc1, fc2 (OPT).
    public var linears: [Linear]
    /// Query heads of this block.
    public var heads: Int
    /// Key/value heads of this block.
    public var kvHeads: Int
    /// KV head read by each query head (`h / (heads/kvHeads)` unless a compact model says otherwise).
    public var kvHeadOf: [Int]
    /// FFN inner width.
    public var ffnWidth: Int
    /// Gated FFN (`gate` present: SwiGLU or GeGLU) or ReLU FFN.
    public var isGated: Bool
    /// The gate's non-linearity when `isGated`.
    public var activation: GatedActivation
    /// Gemma: RMSNorms of the attention output and the FFN output before each joins the residual stream.
    public var postAttentionNorm: Norm?
    public var postFFNNorm: Norm?
    /// Gemma: RMSNorms over each head's `headDim` of the queries and keys, before RoPE (one gain for all heads).
    public var qNorm: Norm?
    public var kNorm: Norm?
    /// Sliding-window attention: a query sees its last `window` positions (itself included); `nil`: all before it.
    public var window: Int?
    /// Rotate with the model's local RoPE table (Gemma's sliding-window layers) instead of the global one.
    public var localRoPE: Bool

    public init(attentionNorm: Norm, ffnNorm: Norm, linears: [Linear], heads: Int, kvHeads: Int,
                kvHeadOf: [Int]? = nil, ffnWidth: Int, isGated: Bool, activation: GatedActivation = .silu,
                postAttentionNorm: Norm? = nil, postFFNNorm: Norm? = nil, qNorm: Norm? = nil, kNorm: Norm? = nil,
                window: Int? = nil, localRoPE: Bool = false) {
        self.attentionNorm = attentionNorm; self.ffnNorm = ffnNorm; self.linears = linears
        self.heads = heads; self.kvHeads = kvHeads; self.ffnWidth = ffnWidth; self.isGated = isGated
        self.activation = activation; self.postAttentionNorm = postAttentionNorm; self.postFFNNorm = postFFNNorm
        self.qNorm = qNorm; self.kNorm = kNorm; self.window = window; self.localRoPE = localRoPE
        self.kvHeadOf = kvHeadOf ?? (0..<heads).map { kvHeads == 0 ? 0 : $0 / max(1, heads / kvHeads) }
    }

    /// The same block with other Linears and widths (compaction); norms, activation and attention window stay.
    public func resized(linears: [Linear], heads: Int, kvHeads: Int, kvHeadOf: [Int], ffnWidth: Int) -> TransformerBlock {
        var b = self
        b.linears = linears; b.heads = heads; b.kvHeads = kvHeads; b.kvHeadOf = kvHeadOf; b.ffnWidth = ffnWidth
        return b
    }

    /// Index in `linears` of each role.
    public func index(of role: Linear.Role) -> Int? { linears.firstIndex { $0.role == role } }

    var q: Linear { linears[0] }
    var k: Linear { linears[1] }
    var v: Linear { linears[2] }
    var o: Linear { linears[3] }
    var gate: Linear { linears[4] }
    var up: Linear { linears[isGated ? 5 : 4] }
    var down: Linear { linears[isGated ? 6 : 5] }
}

/// The non-linearity of a gated FFN: `act(gate) ⊙ up`.
public enum GatedActivation: String, Sendable, Equatable {
    /// SwiGLU (Llama): `silu(g) = g·σ(g)`.
    case silu
    /// GeGLU with the tanh approximation of GELU (Gemma, `gelu_pytorch_tanh`).
    case geluTanh
}
