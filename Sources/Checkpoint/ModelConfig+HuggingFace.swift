/// Reading and writing Hugging Face `config.json`.
extension ModelConfig {
    /// `model_type` values this reader understands.
    public static let supportedModelTypes = ["llama", "mistral", "qwen2", "gemma3_text", "opt"]

    /// Builds a config from a parsed `config.json`; `path` is used in error messages.
    public init(huggingFace json: JSONValue, path: String) throws {
        guard json.objectValue != nil else { throw CheckpointError.malformed(path: path, what: "config.json is not a JSON object") }
        guard let type = json["model_type"]?.stringValue else {
            throw CheckpointError.invalidConfig(path: path, what: "model_type is missing")
        }
        func int(_ key: String) throws -> Int {
            guard let v = json[key]?.intValue else { throw CheckpointError.invalidConfig(path: path, what: "\(key) is missing or not an integer") }
            return v
        }
        func optInt(_ key: String) throws -> Int? {
            guard let j = json[key], !j.isNull else { return nil }
            guard let v = j.intValue else { throw CheckpointError.invalidConfig(path: path, what: "\(key) is not an integer") }
            return v
        }
        func float(_ key: String, _ def: Float) throws -> Float {
            guard let j = json[key], !j.isNull else { return def }
            guard let v = j.doubleValue else { throw CheckpointError.invalidConfig(path: path, what: "\(key) is not a number") }
            return Float(v)
        }
        func bool(_ key: String, _ def: Bool) throws -> Bool {
            guard let j = json[key], !j.isNull else { return def }
            guard let v = j.boolValue else { throw CheckpointError.invalidConfig(path: path, what: "\(key) is not a boolean") }
            return v
        }
        func tokenId(_ key: String) -> Int? {
            if let a = json[key]?.arrayValue { return a.first?.intValue }
            return json[key]?.intValue
        }
        func intList(_ key: String) throws -> [Int]? {
            guard let j = json[key], !j.isNull else { return nil }
            guard let a = j.arrayValue, case let v = a.compactMap({ $0.intValue }), v.count == a.count else {
                throw CheckpointError.invalidConfig(path: path, what: "\(key) is not a list of integers")
            }
            return v
        }

        switch type {
        case "llama", "mistral", "qwen2", "gemma3_text":
            let arch = type == "gemma3_text" ? Architecture.gemma3 : Architecture(rawValue: type)!
            let hidden = try int("hidden_size"), heads = try int("num_attention_heads")
            let kv = try optInt("num_key_value_heads") ?? heads
            guard heads > 0, kv > 0 else { throw CheckpointError.invalidConfig(path: path, what: "num_attention_heads \(heads) / num_key_value_heads \(kv) must be positive") }
            let headDim: Int
            if let hd = try optInt("head_dim") { headDim = hd } else {
                guard hidden % heads == 0 else {
                    throw CheckpointError.invalidConfig(path: path, what: "num_attention_heads \(heads) does not divide hidden_size \(hidden)")
                }
                headDim = hidden / heads
            }
            for key in ["rope_scaling", "rope_parameters"] {
                guard let rs = json[key], !rs.isNull else { continue }
                let kind = rs["rope_type"]?.stringValue ?? rs["type"]?.stringValue ?? "default"
                guard kind == "default" else {
                    throw CheckpointError.invalidConfig(path: path, what: "\(key) of type '\(kind)' is not supported (only plain RoPE)")
                }
            }
            var theta = try float("rope_theta", 10000)
            if json["rope_theta"] == nil, let rp = json["rope_parameters"], let t = rp["rope_theta"]?.doubleValue { theta = Float(t) }
            self.init(architecture: arch, vocabSize: try int("vocab_size"), hiddenSize: hidden,
                      intermediateSize: try int("intermediate_size"), numLayers: try int("num_hidden_layers"),
                      numHeads: heads, numKVHeads: kv, headDim: headDim,
                      maxPositions: try optInt("max_position_embeddings") ?? 2048,
                      normEps: try float("rms_norm_eps", 1e-6), ropeTheta: theta,
                      tieWordEmbeddings: try bool("tie_word_embeddings", false),
                      attentionBias: arch == .qwen2 ? true : try bool("attention_bias", false),
                      bosTokenId: tokenId("bos_token_id"), eosTokenId: tokenId("eos_token_id"))
            mlpBias = arch == .llama ? try bool("mlp_bias", false) : false
            if arch == .gemma3 { try readGemma3(json, path: path, float: float, optInt: optInt) }
        case "opt":
            let hidden = try int("hidden_size"), heads = try int("num_attention_heads")
            guard heads > 0, hidden % heads == 0 else {
                throw CheckpointError.invalidConfig(path: path, what: "num_attention_heads \(heads) does not divide hidden_size \(hidden)")
            }
            if let proj = try optInt("word_embed_proj_dim"), proj != hidden {
                throw CheckpointError.invalidConfig(path: path, what: "word_embed_proj_dim \(proj) != hidden_size \(hidden) (projected OPT embeddings are not supported)")
            }
            if let act = json["activation_function"]?.stringValue, act != "relu" {
                throw CheckpointError.invalidConfig(path: path, what: "activation_function '\(act)' is not supported for OPT (only relu)")
            }
            self.init(architecture: .opt, vocabSize: try int("vocab_size"), hiddenSize: hidden,
                      intermediateSize: try int("ffn_dim"), numLayers: try int("num_hidden_layers"),
                      numHeads: heads, numKVHeads: heads, headDim: hidden / heads,
                      maxPositions: try optInt("max_position_embeddings") ?? 2048, normEps: 1e-5,
                      tieWordEmbeddings: try bool("tie_word_embeddings", true), attentionBias: true,
                      bosTokenId: tokenId("bos_token_id"), eosTokenId: tokenId("eos_token_id"),
                      doLayerNormBefore: try bool("do_layer_norm_before", true))
        default:
            throw CheckpointError.unsupportedArchitecture(path: path, found: type, supported: Self.supportedModelTypes)
        }
        ffnWidths = try intList("surgeon_ffn_widths")
        headCounts = try intList("surgeon_head_counts")
        kvHeadCounts = try intList("surgeon_kv_head_counts")
        try validate(path: path)
    }

    /// Gemma 3's extras: sliding window and its layer pattern, the local RoPE base, the query scale; what the
    /// engine does not implement (logit soft-capping, an activation other than tanh GELU) is refused.
    private mutating func readGemma3(_ json: JSONValue, path: String, float: (String, Float) throws -> Float,
                                     optInt: (String) throws -> Int?) throws {
        func bad(_ s: String) -> CheckpointError { .invalidConfig(path: path, what: s) }
        for key in ["final_logit_softcapping", "attn_logit_softcapping"] {
            if let v = json[key], !v.isNull { throw bad("\(key) \(v.doubleValue.map { "\($0)" } ?? "?") is not supported") }
        }
        let act = json["hidden_activation"]?.stringValue ?? json["hidden_act"]?.stringValue ?? "gelu_pytorch_tanh"
        guard act == "gelu_pytorch_tanh" else { throw bad("hidden_activation '\(act)' is not supported for gemma3 (only gelu_pytorch_tanh)") }
        if json["tie_word_embeddings"] == nil { tieWordEmbeddings = true }
        slidingWindow = try optInt("sliding_window")
        ropeLocalTheta = try float("rope_local_base_freq", 10000)
        // transformers ≥ 5 nests RoPE per layer type: {"full_attention": {...}, "sliding_attention": {...}}
        if let rp = json["rope_parameters"], rp["full_attention"] != nil || rp["sliding_attention"] != nil {
            for (kind, local) in [("full_attention", false), ("sliding_attention", true)] {
                guard let p = rp[kind], !p.isNull else { continue }
                let type = p["rope_type"]?.stringValue ?? "default"
                guard type == "default" else { throw bad("rope_parameters.\(kind) of type '\(type)' is not supported (only plain RoPE)") }
                guard let theta = p["rope_theta"]?.doubleValue else { continue }
                if local { ropeLocalTheta = Float(theta) } else { ropeTheta = Float(theta) }
            }
        }
        queryPreAttnScalar = try float("query_pre_attn_scalar", Float(headDim))
        if let types = json["layer_types"]?.arrayValue {
            let full = types.map { $0.stringValue == "full_attention" }
            guard types.count == numLayers, types.allSatisfy({ ["full_attention", "sliding_attention"].contains($0.stringValue ?? "") }) else {
                throw bad("layer_types must list full_attention / sliding_attention for each of the \(numLayers) layers")
            }
            // The engine knows "every p-th layer is global"; find that p.
            guard let p = (1...max(1, numLayers + 1)).first(where: { p in full.indices.allSatisfy { full[$0] == ((($0 + 1) % p) == 0) } }) else {
                throw bad("layer_types is not a repeating pattern of sliding layers with every p-th layer global")
            }
            slidingWindowPattern = p
        } else {
            slidingWindowPattern = try optInt("sliding_window_pattern") ?? 6
        }
    }

    /// Throws `invalidConfig` when sizes are non-positive or contradict each other.
    public func validate(path: String) throws {
        func bad(_ s: String) -> CheckpointError { .invalidConfig(path: path, what: s) }
        let limit = 1 << 24
        for (name, v) in [("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
                          ("num_hidden_layers", numLayers), ("num_attention_heads", numHeads),
                          ("num_key_value_heads", numKVHeads), ("head_dim", headDim), ("max_position_embeddings", maxPositions)] {
            guard v > 0, v <= limit else { throw bad("\(name) = \(v) is out of range 1...\(limit)") }
        }
        guard numHeads % numKVHeads == 0 else { throw bad("num_key_value_heads \(numKVHeads) does not divide num_attention_heads \(numHeads)") }
        if architecture.isLlamaLike, headDim % 2 != 0 { throw bad("head_dim \(headDim) must be even for RoPE") }
        guard normEps.isFinite, normEps >= 0 else { throw bad("norm epsilon \(normEps) is invalid") }
        guard ropeTheta.isFinite, ropeTheta > 0 else { throw bad("rope_theta \(ropeTheta) is invalid") }
        for (name, list) in [("surgeon_ffn_widths", ffnWidths), ("surgeon_head_counts", headCounts), ("surgeon_kv_head_counts", kvHeadCounts)] {
            guard let list else { continue }
            guard list.count == numLayers else { throw bad("\(name) has \(list.count) entries for \(numLayers) layers") }
            guard list.allSatisfy({ $0 >= 0 && $0 <= limit }) else { throw bad("\(name) has an entry out of range") }
        }
        if headCounts != nil || kvHeadCounts != nil {
            // Compact models may keep uneven KV groups, so only consistency is required here.
            for l in 0..<numLayers {
                let (q, kv) = (heads(l), kvHeads(l))
                guard kv <= q, (q == 0) == (kv == 0) else { throw bad("layer \(l): \(kv) KV heads for \(q) query heads") }
            }
        }
    }
}
