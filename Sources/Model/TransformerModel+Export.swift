import Checkpoint
import Tensor

extension TransformerModel {
    /// The blueprint with the per-layer widths the blocks have now (set only when they differ from the
    /// global values, so a dense model keeps a plain config).
    public var currentConfig: ModelConfig {
        var c = config
        let heads = blocks.map(\.heads), kv = blocks.map(\.kvHeads), ffn = blocks.map(\.ffnWidth)
        c.headCounts = heads.allSatisfy { $0 == c.numHeads } ? nil : heads
        c.kvHeadCounts = kv.allSatisfy { $0 == c.numKVHeads } ? nil : kv
        c.ffnWidths = ffn.allSatisfy { $0 == c.intermediateSize } ? nil : ffn
        if c.architecture == .llama {  // Llama's flags cover every matrix of the group (`hfTensors` fills zeros)
            let biased = blocks.flatMap(\.linears).filter { $0.bias != nil }
            c.attentionBias = c.attentionBias || biased.contains { $0.role.isAttention }
            c.mlpBias = c.mlpBias || biased.contains { !$0.role.isAttention }
        }
        return c
    }

    /// Every tensor under its Hugging Face name (the inverse of `init(checkpoint:)`).
    public func hfTensors() -> [String: Tensor] {
        let c = config.hiddenSize, v = config.vocabSize
        var t: [String: Tensor] = [:]
        func vec(_ name: String, _ x: [Float]) { t[name] = Tensor(shape: [x.count], data: x) }
        let gemma = config.architecture.isGemma
        func norm(_ prefix: String, _ n: Norm?) {
            guard let n else { return }
            vec(prefix + ".weight", gemma ? n.weight.map { $0 - 1 } : n.weight)  // Gemma's gain is 1 + w
            if let b = n.bias { vec(prefix + ".bias", b) }
        }
        let llama = config.architecture.isLlamaLike
        let root = llama ? "model" : "model.decoder"
        t[root + ".embed_tokens.weight"] = Tensor(shape: [v, c], data: tokenEmbedding)
        if let p = positionEmbedding { t[root + ".embed_positions.weight"] = Tensor(shape: [p.count / c, c], data: p) }
        // Llama's `attention_bias` / `mlp_bias` give every matrix of the group a bias: zeros where the model has none.
        let cfg = currentConfig
        func biasFlag(_ role: Linear.Role) -> Bool {
            guard cfg.architecture == .llama else { return false }
            return role.isAttention ? cfg.attentionBias : cfg.mlpBias
        }
        for (l, b) in blocks.enumerated() {
            for lin in b.linears {
                t[lin.name + ".weight"] = Tensor(shape: [lin.rows, lin.cols], data: lin.weight)
                if let bias = lin.bias ?? (biasFlag(lin.role) ? [Float](repeating: 0, count: lin.rows) : nil) {
                    vec(lin.name + ".bias", bias)
                }
            }
            let p = "\(root).layers.\(l)"
            norm(p + (llama ? ".input_layernorm" : ".self_attn_layer_norm"), b.attentionNorm)
            if gemma {
                norm(p + ".pre_feedforward_layernorm", b.ffnNorm)
                norm(p + ".post_attention_layernorm", b.postAttentionNorm)
                norm(p + ".post_feedforward_layernorm", b.postFFNNorm)
                norm(p + ".self_attn.q_norm", b.qNorm)
                norm(p + ".self_attn.k_norm", b.kNorm)
            } else {
                norm(p + (llama ? ".post_attention_layernorm" : ".final_layer_norm"), b.ffnNorm)
            }
        }
        norm(llama ? "model.norm" : "model.decoder.final_layer_norm", finalNorm)
        if let h = lmHead { t["lm_head.weight"] = Tensor(shape: [v, c], data: h) }
        return t
    }

    /// The model as a checkpoint, ready for a checkpoint writer.
    public func checkpoint(tokenizer: TokenizerData?, source: String) -> LoadedCheckpoint {
        LoadedCheckpoint(config: currentConfig, tensors: hfTensors(), tokenizer: tokenizer, source: source)
    }
}
