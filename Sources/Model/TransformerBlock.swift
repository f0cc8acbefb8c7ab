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
    /// SwiGLU (`gate` present) or ReLU FFN.
    public var isGated: Bool

    public init(attentionNorm: Norm, ffnNorm: Norm, linears: [Linear], heads: Int, kvHeads: Int,
                kvHeadOf: [Int]? = nil, ffnWidth: Int, isGated: Bool) {
        self.attentionNorm = attentionNorm; self.ffnNorm = ffnNorm; self.linears = linears
        self.heads = heads; self.kvHeads = kvHeads; self.ffnWidth = ffnWidth; self.isGated = isGated
        self.kvHeadOf = kvHeadOf ?? (0..<heads).map { kvHeads == 0 ? 0 : $0 / max(1, heads / kvHeads) }
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
