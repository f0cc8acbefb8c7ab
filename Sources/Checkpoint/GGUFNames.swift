/// Translation of llama.cpp tensor names to Hugging Face names, and the inverse of llama.cpp's
/// q/k row permutation.
public enum GGUFNames {
    private static let globals: [String: String] = [
        "token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head",
    ]
    private static let blockParts: [String: String] = [
        "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
        "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
        "ffn_down": "mlp.down_proj", "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
    ]
    /// Gemma's block: its FFN norm is `pre_feedforward_layernorm`, and it has post-norms and q/k norms.
    private static let gemmaBlockParts: [String: String] = blockParts.merging([
        "ffn_norm": "pre_feedforward_layernorm", "post_attention_norm": "post_attention_layernorm",
        "post_ffw_norm": "post_feedforward_layernorm", "attn_q_norm": "self_attn.q_norm", "attn_k_norm": "self_attn.k_norm",
    ]) { $1 }

    /// llama.cpp writes Gemma's norm weights as the multiplier `1 + w` (Hugging Face keeps `w`).
    public static func storesNormGainPlusOne(_ architecture: String?) -> Bool { architecture == "gemma3" }

    private static func parts(_ architecture: String?) -> [String: String] {
        architecture == "gemma3" ? gemmaBlockParts : blockParts
    }

    /// The Hugging Face name of a GGUF tensor (`blk.3.attn_q.weight` → `model.layers.3.self_attn.q_proj.weight`),
    /// or nil when the name is not one of the llama-family tensors. `architecture` is GGUF's (`gemma3` names differ).
    public static func huggingFaceName(_ name: String, architecture: String? = nil) -> String? {
        let blockParts = parts(architecture)
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let suffix = parts.last, suffix == "weight" || suffix == "bias" else { return nil }
        if parts.count == 2, let g = globals[parts[0]] { return "\(g).\(suffix)" }
        if parts.count == 4, parts[0] == "blk", let l = Int(parts[1]), l >= 0, let p = blockParts[parts[2]] {
            return "model.layers.\(l).\(p).\(suffix)"
        }
        return nil
    }

    /// The GGUF name of a Hugging Face tensor (inverse of `huggingFaceName`).
    public static func ggufName(_ hf: String, architecture: String? = nil) -> String? {
        let blockParts = parts(architecture)
        let suffix = hf.hasSuffix(".weight") ? "weight" : hf.hasSuffix(".bias") ? "bias" : nil
        guard let suffix else { return nil }
        let stem = String(hf.dropLast(suffix.count + 1))
        if let g = globals.first(where: { $0.value == stem }) { return "\(g.key).\(suffix)" }
        let parts = stem.split(separator: ".", maxSplits: 3).map(String.init)
        guard parts.count == 4, parts[0] == "model", parts[1] == "layers", let l = Int(parts[2]),
              let p = blockParts.first(where: { $0.value == parts[3] }) else { return nil }
        return "blk.\(l).\(p.key).\(suffix)"
    }
}

/// Undoes llama.cpp's RoPE permutation of q/k rows in place of a copy: rows viewed as
/// (heads, headDim/2, 2) are transposed to (heads, 2, headDim/2). `cols` is 1 for a bias.
/// out: (heads·headDim, cols); w: (heads·headDim, cols).
public func unpermuteRoPERows(_ out: UnsafeMutablePointer<Float>, _ w: UnsafePointer<Float>, heads: Int, headDim: Int, cols: Int) {
    let half = headDim / 2
    for h in 0..<heads {
        for i in 0..<half {
            for j in 0..<2 {
                let src = h * headDim + i * 2 + j, dst = h * headDim + j * half + i
                (out + dst * cols).update(from: w + src * cols, count: cols)
            }
        }
    }
}

/// Applies llama.cpp's permutation (the inverse of `unpermuteRoPERows`), for writing GGUF.
/// out: (heads·headDim, cols); w: (heads·headDim, cols).
public func permuteRoPERows(_ out: UnsafeMutablePointer<Float>, _ w: UnsafePointer<Float>, heads: Int, headDim: Int, cols: Int) {
    let half = headDim / 2
    for h in 0..<heads {
        for i in 0..<half {
            for j in 0..<2 {
                let dst = h * headDim + i * 2 + j, src = h * headDim + j * half + i
                (out + dst * cols).update(from: w + src * cols, count: cols)
            }
        }
    }
}
