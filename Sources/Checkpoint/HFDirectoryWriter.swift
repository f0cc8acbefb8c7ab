import Foundation
import Tensor

/// Writes a checkpoint as a Hugging Face directory that `AutoModelForCausalLM` / `AutoTokenizer`
/// load without custom code: config.json, generation_config.json, model.safetensors and tokenizer files.
public enum HFDirectoryWriter {
    /// Writes `checkpoint` into `directory` (created if needed); returns the file names written.
    /// When tied, `lm_head.weight` is omitted. A GGUF tokenizer is converted when it is byte-level BPE;
    /// other GGUF tokenizers are skipped (no tokenizer files).
    @discardableResult
    public static func write(_ checkpoint: LoadedCheckpoint, to directory: String,
                             storage: SafetensorsWriter.StorageType = .F32) throws -> [String] {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        catch { throw CheckpointError.writeFailed(path: directory, reason: "\(error)") }
        let c = checkpoint.config
        try c.validate(path: directory)
        let dir = URL(fileURLWithPath: directory)
        func path(_ f: String) -> String { dir.appendingPathComponent(f).path }
        var written: [String] = []
        func put(_ name: String, _ bytes: [UInt8]) throws { try writeAtomically(bytes, to: path(name)); written.append(name) }

        var tensors = checkpoint.tensors
        if c.tieWordEmbeddings { tensors["lm_head.weight"] = nil }
        try SafetensorsWriter.write(tensors, half: checkpoint.halfTensors, to: path("model.safetensors"), as: storage)
        written.append("model.safetensors")
        try put("config.json", Array(c.huggingFaceConfigJSON(dtype: storage).utf8))
        var gen = ["\"_from_model_config\":true"]
        if let b = c.bosTokenId { gen.append("\"bos_token_id\":\(b)") }
        if let e = c.eosTokenId { gen.append("\"eos_token_id\":\(e)") }
        try put("generation_config.json", Array(("{" + gen.joined(separator: ",") + "}").utf8))

        switch checkpoint.tokenizer {
        case .huggingFace(let json, let cfg)?:
            try put("tokenizer.json", json)
            if let cfg { try put("tokenizer_config.json", cfg) }
        case .gguf(let g)?:
            if let json = g.huggingFaceTokenizerJSON() {
                try put("tokenizer.json", json)
                try put("tokenizer_config.json", g.huggingFaceTokenizerConfigJSON(modelMaxLength: c.maxPositions))
                try put("special_tokens_map.json", g.huggingFaceSpecialTokensMapJSON())
            } else {  // SentencePiece BPE (Gemma): the GGUF metadata itself, read back by HFDirectoryReader
                try put("tokenizer.gguf", GGUFWriter.encodeTokenizer(g, architecture: c.architecture.rawValue))
            }
        case nil:
            break
        }
        return written
    }
}

extension ModelConfig {
    /// A standard transformers `config.json` (llama, mistral, qwen2 or opt). Compact per-layer widths
    /// are kept under `surgeon_*` keys (transformers ignores them; such models need this project to load).
    public func huggingFaceConfigJSON(dtype: SafetensorsWriter.StorageType = .F32) -> String {
        let torchDtype = ["F32": "float32", "F16": "float16", "BF16": "bfloat16"][dtype.rawValue]!
        var f: [(String, String)] = []
        func add(_ k: String, _ v: Any?) {
            guard let v else { f.append((k, "null")); return }
            switch v {
            case let s as String: f.append((k, SafetensorsWriter.jsonString(s)))
            case let b as Bool: f.append((k, b ? "true" : "false"))
            case let x as Float: f.append((k, "\(Double(x).formatted6)"))
            case let l as [Int]: f.append((k, "[" + l.map(String.init).joined(separator: ",") + "]"))
            default: f.append((k, "\(v)"))
            }
        }
        switch architecture {
        case .llama, .mistral, .qwen2:
            let cls = ["llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM"][architecture.rawValue]!
            f.append(("architectures", "[\"\(cls)\"]"))
            add("model_type", architecture.rawValue)
            add("vocab_size", vocabSize); add("hidden_size", hiddenSize); add("intermediate_size", intermediateSize)
            add("num_hidden_layers", numLayers); add("num_attention_heads", numHeads); add("num_key_value_heads", numKVHeads)
            add("head_dim", headDim); add("max_position_embeddings", maxPositions); add("rms_norm_eps", normEps)
            add("rope_theta", ropeTheta)
            f.append(("rope_parameters", "{\"rope_type\":\"default\",\"rope_theta\":\(Double(ropeTheta).formatted6)}"))
            add("hidden_act", "silu")
            if architecture == .llama { add("attention_bias", attentionBias); add("mlp_bias", mlpBias) }
            add("tie_word_embeddings", tieWordEmbeddings)
        case .gemma3:
            f.append(("architectures", "[\"Gemma3ForCausalLM\"]"))
            add("model_type", "gemma3_text")
            add("vocab_size", vocabSize); add("hidden_size", hiddenSize); add("intermediate_size", intermediateSize)
            add("num_hidden_layers", numLayers); add("num_attention_heads", numHeads); add("num_key_value_heads", numKVHeads)
            add("head_dim", headDim); add("max_position_embeddings", maxPositions); add("rms_norm_eps", normEps)
            add("rope_theta", ropeTheta); add("rope_local_base_freq", ropeLocalTheta ?? ropeTheta)
            add("rope_scaling", nil)
            let local = Double(ropeLocalTheta ?? ropeTheta).formatted6, global = Double(ropeTheta).formatted6
            f.append(("rope_parameters", "{\"full_attention\":{\"rope_type\":\"default\",\"rope_theta\":\(global)},"
                      + "\"sliding_attention\":{\"rope_type\":\"default\",\"rope_theta\":\(local)}}"))
            add("sliding_window", slidingWindow)
            let types = (0..<numLayers).map { attentionWindow($0) == nil ? "\"full_attention\"" : "\"sliding_attention\"" }
            f.append(("layer_types", "[" + types.joined(separator: ",") + "]"))
            let scalar = queryPreAttnScalar ?? Float(headDim)  // transformers' config wants an int where it is one
            if scalar == scalar.rounded(), abs(scalar) < 1e9 { add("query_pre_attn_scalar", Int(scalar)) } else { add("query_pre_attn_scalar", scalar) }
            add("hidden_activation", "gelu_pytorch_tanh")
            add("final_logit_softcapping", nil); add("attn_logit_softcapping", nil)
            add("attention_bias", false); add("attention_dropout", 0.0)
            add("tie_word_embeddings", tieWordEmbeddings)
        case .opt:
            f.append(("architectures", "[\"OPTForCausalLM\"]"))
            add("model_type", "opt")
            add("vocab_size", vocabSize); add("hidden_size", hiddenSize); add("ffn_dim", intermediateSize)
            add("num_hidden_layers", numLayers); add("num_attention_heads", numHeads)
            add("max_position_embeddings", maxPositions); add("do_layer_norm_before", doLayerNormBefore)
            add("word_embed_proj_dim", hiddenSize); add("activation_function", "relu")
            add("enable_bias", true); add("layer_norm_elementwise_affine", true)
            add("tie_word_embeddings", tieWordEmbeddings)
        }
        add("bos_token_id", bosTokenId); add("eos_token_id", eosTokenId)
        add("torch_dtype", torchDtype)
        if let l = ffnWidths { add("surgeon_ffn_widths", l) }
        if let l = headCounts { add("surgeon_head_counts", l) }
        if let l = kvHeadCounts { add("surgeon_kv_head_counts", l) }
        return "{\n" + f.map { "  \"\($0.0)\": \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }
}

extension Double {
    /// Shortest decimal that round-trips a Float widened to Double (e.g. 1e-05, not 9.99999974e-06).
    var formatted6: String {
        let f = Float(self)
        let s = "\(f)"
        return s.contains(".") || s.contains("e") || s.contains("inf") || s.contains("nan") ? s : s + ".0"
    }
}
