import Checkpoint
import Tensor

/// A decoder-only transformer in fp32: Llama family (RMSNorm, RoPE, GQA, SwiGLU), Gemma 3 (the Llama graph
/// with post-norms, q/k norms, GeGLU, scaled embeddings, sliding-window layers) or OPT (pre-LayerNorm,
/// learned positions, ReLU, biases). Value type: copying it copies the weights (copy-on-write).
///
/// Build → forward / backward (`gradients(tokens:visit:)`) → perplexity / generate.
public struct TransformerModel: Sendable {
    public let config: ModelConfig
    /// `(V, C)` token embeddings (also the LM head when tied).
    public var tokenEmbedding: [Float]
    /// `(P + 2, C)` OPT learned positions (row `pos + 2`); `nil` for Llama.
    public var positionEmbedding: [Float]?
    public var blocks: [TransformerBlock]
    public var finalNorm: Norm
    /// `(V, C)` untied LM head; `nil` when tied to `tokenEmbedding`.
    public var lmHead: [Float]?
    /// RoPE tables `(maxPositions, D/2)`; empty for OPT.
    let ropeCos: [Float], ropeSin: [Float]
    /// Gemma's sliding-window layers rotate with their own base; empty when no block is `localRoPE`.
    let ropeLocalCos: [Float], ropeLocalSin: [Float]
    /// Token embeddings are multiplied by this on the way in (Gemma: √hidden); `nil` for 1.
    let embeddingScale: Float?

    public var hiddenSize: Int { config.hiddenSize }
    public var vocabSize: Int { config.vocabSize }
    public var headDim: Int { config.headDim }
    /// Longest sequence (positions) the model accepts.
    public var maxPositions: Int { config.maxPositions }

    /// Builds the model from Hugging Face–named tensors, checking every name and shape.
    public init(checkpoint: LoadedCheckpoint) throws {
        let cfg = checkpoint.config
        let t = checkpoint.tensors
        let C = cfg.hiddenSize, V = cfg.vocabSize, D = cfg.headDim
        func get(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let x = t[name] else { throw ModelError.missingTensor(name) }
            guard x.shape == shape else { throw ModelError.badShape(name: name, expected: shape, got: x.shape) }
            return x.data
        }
        func opt(_ name: String, _ shape: [Int]) throws -> [Float]? { t[name] == nil ? nil : try get(name, shape) }
        func linear(_ prefix: String, _ role: Linear.Role, _ rows: Int, _ cols: Int, bias: Bool?) throws -> Linear {
            let b: [Float]? = bias == true ? try get(prefix + ".bias", [rows]) : (bias == nil ? try opt(prefix + ".bias", [rows]) : nil)
            if let h = checkpoint.halfTensors[prefix + ".weight"] {
                guard h.shape == [rows, cols] else { throw ModelError.badShape(name: prefix + ".weight", expected: [rows, cols], got: h.shape) }
                return Linear(name: prefix, role: role, rows: rows, cols: cols, half: h, bias: b)
            }
            return Linear(name: prefix, role: role, rows: rows, cols: cols, weight: try get(prefix + ".weight", [rows, cols]), bias: b)
        }
        guard cfg.numLayers >= 0, C > 0, V > 0, D > 0, D % 2 == 0 || !cfg.architecture.isLlamaLike else {
            throw ModelError.unsupported("config has hidden \(C), vocab \(V), head_dim \(D)")
        }
        /// An RMSNorm; Gemma's gain is `1 + w` (held as the multiplier).
        func rmsNorm(_ name: String, _ n: Int) throws -> Norm {
            let w = try get(name, [n])
            return Norm(weight: cfg.architecture.isGemma ? w.map { 1 + $0 } : w, bias: nil, eps: cfg.normEps)
        }
        var blocks: [TransformerBlock] = []
        if cfg.architecture.isLlamaLike {
            tokenEmbedding = try get("model.embed_tokens.weight", [V, C])
            positionEmbedding = nil
            // Llama's MLP biases (`mlp_bias`, or a bias-compensated prune's down_proj) are read when present.
            let mlpBias: Bool? = cfg.architecture.isGemma ? false : nil
            for l in 0..<cfg.numLayers {
                let p = "model.layers.\(l)", H = cfg.heads(l), KV = cfg.kvHeads(l), F = cfg.ffnWidth(l)
                guard H == 0 || (KV > 0 && H % KV == 0) else {
                    throw ModelError.unsupported("layer \(l): \(H) query heads cannot share \(KV) KV heads evenly")
                }
                let ls: [Linear] = [
                    try linear(p + ".self_attn.q_proj", .q, H * D, C, bias: nil),
                    try linear(p + ".self_attn.k_proj", .k, KV * D, C, bias: nil),
                    try linear(p + ".self_attn.v_proj", .v, KV * D, C, bias: nil),
                    try linear(p + ".self_attn.o_proj", .o, C, H * D, bias: nil),
                    try linear(p + ".mlp.gate_proj", .gate, F, C, bias: mlpBias),
                    try linear(p + ".mlp.up_proj", .up, F, C, bias: mlpBias),
                    try linear(p + ".mlp.down_proj", .down, C, F, bias: mlpBias),
                ]
                func rms(_ name: String, _ n: Int = C) throws -> Norm {
                    try rmsNorm(p + "." + name + ".weight", n)
                }
                if cfg.architecture.isGemma {
                    blocks.append(TransformerBlock(
                        attentionNorm: try rms("input_layernorm"), ffnNorm: try rms("pre_feedforward_layernorm"),
                        linears: ls, heads: H, kvHeads: KV, ffnWidth: F, isGated: true, activation: .geluTanh,
                        postAttentionNorm: try rms("post_attention_layernorm"), postFFNNorm: try rms("post_feedforward_layernorm"),
                        qNorm: try rms("self_attn.q_norm", D), kNorm: try rms("self_attn.k_norm", D),
                        window: cfg.attentionWindow(l), localRoPE: cfg.attentionWindow(l) != nil && cfg.ropeLocalTheta != nil))
                } else {
                    blocks.append(TransformerBlock(attentionNorm: try rms("input_layernorm"), ffnNorm: try rms("post_attention_layernorm"),
                                                   linears: ls, heads: H, kvHeads: KV, ffnWidth: F, isGated: true))
                }
            }
            finalNorm = try rmsNorm("model.norm.weight", C)
            lmHead = cfg.tieWordEmbeddings ? nil : try get("lm_head.weight", [V, C])
            (ropeCos, ropeSin) = ropeTables(positions: cfg.maxPositions, headDim: D, theta: cfg.ropeTheta)
            if blocks.contains(where: \.localRoPE), let local = cfg.ropeLocalTheta {
                (ropeLocalCos, ropeLocalSin) = ropeTables(positions: cfg.maxPositions, headDim: D, theta: local)
            } else {
                (ropeLocalCos, ropeLocalSin) = ([], [])
            }
            embeddingScale = cfg.architecture.isGemma ? Float(Double(C).squareRoot()) : nil
        } else {
            guard cfg.doLayerNormBefore else {
                throw ModelError.unsupported("OPT with do_layer_norm_before = false (opt-350m) is not supported")
            }
            let p0 = "model.decoder"
            tokenEmbedding = try get(p0 + ".embed_tokens.weight", [V, C])
            positionEmbedding = try get(p0 + ".embed_positions.weight", [cfg.maxPositions + 2, C])
            func ln(_ p: String) throws -> Norm {
                Norm(weight: try get(p + ".weight", [C]), bias: try get(p + ".bias", [C]), eps: cfg.normEps)
            }
            for l in 0..<cfg.numLayers {
                let p = p0 + ".layers.\(l)", H = cfg.heads(l), F = cfg.ffnWidth(l)
                let ls: [Linear] = [
                    try linear(p + ".self_attn.q_proj", .q, H * D, C, bias: true),
                    try linear(p + ".self_attn.k_proj", .k, H * D, C, bias: true),
                    try linear(p + ".self_attn.v_proj", .v, H * D, C, bias: true),
                    try linear(p + ".self_attn.out_proj", .o, C, H * D, bias: true),
                    try linear(p + ".fc1", .up, F, C, bias: true),
                    try linear(p + ".fc2", .down, C, F, bias: true),
                ]
                blocks.append(TransformerBlock(attentionNorm: try ln(p + ".self_attn_layer_norm"),
                                               ffnNorm: try ln(p + ".final_layer_norm"),
                                               linears: ls, heads: H, kvHeads: H, ffnWidth: F, isGated: false))
            }
            finalNorm = try ln(p0 + ".final_layer_norm")
            lmHead = cfg.tieWordEmbeddings ? nil : try get("lm_head.weight", [V, C])
            (ropeCos, ropeSin) = ([], [])
            (ropeLocalCos, ropeLocalSin) = ([], [])
            embeddingScale = nil
        }
        self.config = cfg
        self.blocks = blocks
    }
}

extension TransformerModel {
    /// Every prunable Linear in order: block by block, each block's `linears` in engine order.
    public var linearIDs: [LinearID] {
        blocks.indices.flatMap { l in blocks[l].linears.indices.map { LinearID(layer: l, index: $0) } }
    }

    /// Read or write one prunable Linear in place.
    public subscript(linear id: LinearID) -> Linear {
        get { blocks[id.layer].linears[id.index] }
        _modify { yield &blocks[id.layer].linears[id.index] }
    }

    /// The id of the Linear with Hugging Face module name `name` (e.g. `model.layers.3.mlp.up_proj`).
    public func linearID(named name: String) -> LinearID? {
        for (l, b) in blocks.enumerated() {
            if let i = b.linears.firstIndex(where: { $0.name == name }) { return LinearID(layer: l, index: i) }
        }
        return nil
    }

    /// Runs `body` with block `blk`'s RoPE tables `(cos, sin)`.
    func withRoPE<R>(_ blk: TransformerBlock, _ body: (UnsafePointer<Float>, UnsafePointer<Float>) -> R) -> R {
        let (c, s) = blk.localRoPE ? (ropeLocalCos, ropeLocalSin) : (ropeCos, ropeSin)
        return c.withUnsafeBufferPointer { cs in s.withUnsafeBufferPointer { sn in body(cs.baseAddress!, sn.baseAddress!) } }
    }

    /// Runs `body` with the LM head matrix `(V, C)` (the token embeddings when tied).
    func withLMHead<R>(_ body: (UnsafePointer<Float>) -> R) -> R {
        (lmHead ?? tokenEmbedding).withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// Parameters of the prunable Linears (weights and biases).
    public var prunableParameterCount: Int {
        blocks.reduce(0) { $0 + $1.linears.reduce(0) { $0 + $1.rows * $1.cols + ($1.bias?.count ?? 0) } }
    }
}
