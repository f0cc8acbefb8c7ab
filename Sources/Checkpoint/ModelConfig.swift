/// The blueprint of a decoder-only language model, independent of the file it came from.
///
/// Names follow Hugging Face `config.json` where one exists. Per-layer widths (`ffnWidths`,
/// `headCounts`, `kvHeadCounts`) are optional: `nil` means every layer uses the global value, and a
/// compact (structurally pruned) model sets them.
public struct ModelConfig: Codable, Sendable, Equatable {
    /// Supported graph families.
    public enum Architecture: String, Codable, Sendable, CaseIterable {
        /// Llama family: RMSNorm, RoPE, GQA, SwiGLU. `mistral` and `qwen2` map here (qwen2 with q/k/v biases).
        case llama, mistral, qwen2
        /// OPT: LayerNorm, learned positions (offset 2), ReLU FFN, biases everywhere.
        case opt
        /// Gemma 3 (text): the Llama graph plus norms after attention and the FFN, per-head RMSNorm of
        /// queries and keys, GeGLU (tanh GELU), embeddings scaled by √hidden, sliding-window attention on
        /// most layers with its own RoPE base. Norm gains are held as the multiplier GGUF stores (`1 + w`).
        case gemma3
        /// `true` for the Llama-like graph.
        public var isLlamaLike: Bool { self != .opt }
        /// Gemma's block: post-attention and post-FFN norms, q/k norms, GeGLU, scaled embeddings.
        public var isGemma: Bool { self == .gemma3 }
    }

    public var architecture: Architecture
    public var vocabSize: Int
    public var hiddenSize: Int
    /// FFN inner width (Llama `intermediate_size`, OPT `ffn_dim`).
    public var intermediateSize: Int
    public var numLayers: Int
    public var numHeads: Int
    /// Key/value heads (GQA); equals `numHeads` for multi-head attention and OPT.
    public var numKVHeads: Int
    public var headDim: Int
    public var maxPositions: Int
    /// RMSNorm / LayerNorm epsilon.
    public var normEps: Float
    /// RoPE base frequency (Llama family).
    public var ropeTheta: Float
    /// LM head shares the token embedding matrix.
    public var tieWordEmbeddings: Bool
    /// q/k/v projections carry biases (qwen2; OPT always has biases).
    public var attentionBias: Bool
    /// gate/up/down carry biases (Llama's `mlp_bias`; a coupled prune with `bias_compensation` adds them).
    public var mlpBias: Bool = false
    public var bosTokenId: Int?
    public var eosTokenId: Int?
    /// OPT: pre-LayerNorm blocks (`do_layer_norm_before`); all OPT sizes but 350m.
    public var doLayerNormBefore: Bool
    /// Per-layer FFN widths for compact models (`nil`: all `intermediateSize`).
    public var ffnWidths: [Int]?
    /// Per-layer query-head counts for compact models (`nil`: all `numHeads`).
    public var headCounts: [Int]?
    /// Per-layer KV-head counts for compact models (`nil`: all `numKVHeads`).
    public var kvHeadCounts: [Int]?
    /// Sliding-window attention (Gemma 3): a query sees the last `slidingWindow` positions, itself included,
    /// on every layer but each `slidingWindowPattern`-th (those attend globally). `nil`: all layers global.
    public var slidingWindow: Int?
    public var slidingWindowPattern: Int?
    /// RoPE base of the sliding-window layers (Gemma 3 `rope_local_base_freq`); `ropeTheta` is the global layers'.
    public var ropeLocalTheta: Float?
    /// Attention scores are scaled by `queryPreAttnScalar^(-1/2)` (Gemma); `nil`: `headDim^(-1/2)`.
    public var queryPreAttnScalar: Float?

    public init(architecture: Architecture, vocabSize: Int, hiddenSize: Int, intermediateSize: Int,
                numLayers: Int, numHeads: Int, numKVHeads: Int, headDim: Int, maxPositions: Int,
                normEps: Float, ropeTheta: Float = 10000, tieWordEmbeddings: Bool, attentionBias: Bool = false,
                bosTokenId: Int? = nil, eosTokenId: Int? = nil, doLayerNormBefore: Bool = true,
                ffnWidths: [Int]? = nil, headCounts: [Int]? = nil, kvHeadCounts: [Int]? = nil) {
        self.architecture = architecture; self.vocabSize = vocabSize; self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize; self.numLayers = numLayers; self.numHeads = numHeads
        self.numKVHeads = numKVHeads; self.headDim = headDim; self.maxPositions = maxPositions
        self.normEps = normEps; self.ropeTheta = ropeTheta; self.tieWordEmbeddings = tieWordEmbeddings
        self.attentionBias = attentionBias; self.bosTokenId = bosTokenId; self.eosTokenId = eosTokenId
        self.doLayerNormBefore = doLayerNormBefore
        self.ffnWidths = ffnWidths; self.headCounts = headCounts; self.kvHeadCounts = kvHeadCounts
    }

    /// FFN width of layer `l`.
    public func ffnWidth(_ l: Int) -> Int { ffnWidths?[l] ?? intermediateSize }
    /// Query heads of layer `l`.
    public func heads(_ l: Int) -> Int { headCounts?[l] ?? numHeads }
    /// KV heads of layer `l`.
    public func kvHeads(_ l: Int) -> Int { kvHeadCounts?[l] ?? numKVHeads }
    /// The attention window of layer `l` (`nil`: global causal attention).
    public func attentionWindow(_ l: Int) -> Int? {
        guard let w = slidingWindow else { return nil }
        if let p = slidingWindowPattern, p > 0, (l + 1) % p == 0 { return nil }
        return w
    }
    /// RoPE base of layer `l`.
    public func ropeBase(_ l: Int) -> Float { attentionWindow(l) != nil ? (ropeLocalTheta ?? ropeTheta) : ropeTheta }
    /// The factor attention scores are multiplied by.
    public var attentionScale: Float { 1 / (queryPreAttnScalar ?? Float(headDim)).squareRoot() }
}
