import Dispatch
import Tensor

extension GGUFFile {
    /// GGUF architectures this loader maps to a `ModelConfig`.
    public static let supportedArchitectures = ["llama", "mistral", "qwen2", "gemma3"]
    /// llama.cpp's `deci` graph: a Llama with per-layer widths (compact exports); read as `llama`.
    static let perLayerLlama = "deci"

    /// Dequantises tensor `info` to fp32 in GGUF row order (shape outermost first).
    public func dequantizedTensor(_ info: GGUFTensorInfo) throws -> Tensor {
        guard GGMLType.dequantizable.contains(info.type), !info.range.isEmpty || info.count == 0 else {
            throw CheckpointError.unsupportedType(path: path, tensor: info.name, type: info.type.name)
        }
        let n = info.count
        let data = [Float](unsafeUninitializedCapacity: n) { buf, c in
            if n > 0, let base = file.bytes.baseAddress {
                dequantize(buf.baseAddress!, base + info.range.lowerBound, type: info.type, count: n)
            }
            c = n
        }
        file.release(info.range)
        return Tensor(shape: info.shape, data: data)
    }

    /// The model blueprint from `<arch>.*` metadata.
    public func modelConfig() throws -> ModelConfig {
        guard let arch = self["general.architecture"]?.stringValue else {
            throw CheckpointError.invalidConfig(path: path, what: "general.architecture is missing")
        }
        guard Self.supportedArchitectures.contains(arch) || arch == Self.perLayerLlama,
              let a = ModelConfig.Architecture(rawValue: arch == Self.perLayerLlama ? "llama" : arch) else {
            throw CheckpointError.unsupportedArchitecture(path: path, found: arch, supported: Self.supportedArchitectures)
        }
        func value(_ key: String) -> GGUFValue? { self["\(arch).\(key)"] }
        func int(_ key: String) throws -> Int {
            guard let v = value(key)?.intValue else { throw CheckpointError.invalidConfig(path: path, what: "\(arch).\(key) is missing or not an integer") }
            return v
        }
        /// A scalar, or a per-layer array (returned as `perLayer`, with its maximum as the scalar).
        func intOrList(_ key: String) throws -> (Int, [Int]?)? {
            guard let v = value(key) else { return nil }
            if let i = v.intValue { return (i, nil) }
            if let a = v.arrayValue {
                let l = a.compactMap(\.intValue)
                guard l.count == a.count, let m = l.max() else { throw CheckpointError.invalidConfig(path: path, what: "\(arch).\(key) is not a list of integers") }
                return (m, l)
            }
            throw CheckpointError.invalidConfig(path: path, what: "\(arch).\(key) is not an integer")
        }
        let hidden = try int("embedding_length")
        guard let (heads, headList) = try intOrList("attention.head_count") else {
            throw CheckpointError.invalidConfig(path: path, what: "\(arch).attention.head_count is missing")
        }
        let (kv, kvList) = try intOrList("attention.head_count_kv") ?? (heads, headList)
        guard let (ffn, ffnList) = try intOrList("feed_forward_length") else {
            throw CheckpointError.invalidConfig(path: path, what: "\(arch).feed_forward_length is missing")
        }
        guard heads > 0 else { throw CheckpointError.invalidConfig(path: path, what: "\(arch).attention.head_count is 0") }
        let headDim: Int
        if let k = value("attention.key_length")?.intValue { headDim = k } else {
            guard hidden % heads == 0 else {
                throw CheckpointError.invalidConfig(path: path, what: "head_count \(heads) does not divide embedding_length \(hidden)")
            }
            headDim = hidden / heads
        }
        if let kind = value("rope.scaling.type")?.stringValue, kind != "none" {
            throw CheckpointError.invalidConfig(path: path, what: "\(arch).rope.scaling.type '\(kind)' is not supported (only plain RoPE)")
        }
        if let dims = value("rope.dimension_count")?.intValue, dims != headDim {
            throw CheckpointError.invalidConfig(path: path, what: "\(arch).rope.dimension_count \(dims) != head dim \(headDim) (partial RoPE is not supported)")
        }
        var vocab = value("vocab_size")?.intValue ?? self["tokenizer.ggml.tokens"]?.arrayValue?.count
        if vocab == nil, let e = info("token_embd.weight"), e.dims.count == 2 { vocab = e.dims[1] }
        guard let vocab else { throw CheckpointError.invalidConfig(path: path, what: "vocabulary size unknown (no \(arch).vocab_size, tokens or token_embd)") }
        var config = ModelConfig(
            architecture: a, vocabSize: vocab, hiddenSize: hidden, intermediateSize: ffn,
            numLayers: try int("block_count"), numHeads: heads, numKVHeads: kv, headDim: headDim,
            maxPositions: value("context_length")?.intValue ?? 2048,
            normEps: Float(value("attention.layer_norm_rms_epsilon")?.doubleValue ?? 1e-5),
            ropeTheta: Float(value("rope.freq_base")?.doubleValue ?? 10000),
            tieWordEmbeddings: info("output.weight") == nil,
            attentionBias: info("blk.0.attn_q.bias") != nil,
            bosTokenId: self["tokenizer.ggml.bos_token_id"]?.intValue,
            eosTokenId: self["tokenizer.ggml.eos_token_id"]?.intValue,
            ffnWidths: ffnList, headCounts: headList, kvHeadCounts: kvList)
        config.mlpBias = a == .llama && info("blk.0.ffn_down.bias") != nil
        if a == .gemma3 {
            // llama.cpp: every 6th layer attends globally, the others over the window with RoPE base 10 000;
            // scores scaled by 1/√head_dim (all sizes but 27B, whose query_pre_attn_scalar differs).
            config.slidingWindow = value("attention.sliding_window")?.intValue
            config.slidingWindowPattern = value("attention.sliding_window_pattern")?.intValue ?? 6
            config.ropeLocalTheta = Float(value("rope.freq_base_swa")?.doubleValue ?? 10000)
            if config.numLayers == 62 { config.queryPreAttnScalar = Float(hidden / heads) }
        }
        if headList != nil, kvList == nil { config.kvHeadCounts = Array(repeating: kv, count: headList!.count) }
        if config.kvHeadCounts != nil, heads % kv != 0 { config.numKVHeads = heads }  // per-layer lists rule; keep the scalars consistent
        try config.validate(path: path)
        return config
    }

    /// `tokenizer.ggml.*` metadata, or nil when the file has no tokenizer.
    public func tokenizerData() throws -> GGUFTokenizerData? {
        guard let model = self["tokenizer.ggml.model"]?.stringValue else { return nil }
        func strings(_ key: String) throws -> [String] {
            guard let v = self[key] else { return [] }
            guard let a = v.arrayValue, case let s = a.compactMap(\.stringValue), s.count == a.count else {
                throw CheckpointError.malformed(path: path, what: "\(key) is not an array of strings")
            }
            return s
        }
        let tokens = try strings("tokenizer.ggml.tokens")
        var types: [Int32]?
        if let a = self["tokenizer.ggml.token_type"]?.arrayValue {
            let t = a.compactMap { $0.intValue.flatMap { Int32(exactly: $0) } }
            guard t.count == a.count, t.count == tokens.count else {
                throw CheckpointError.malformed(path: path, what: "tokenizer.ggml.token_type has \(a.count) entries for \(tokens.count) tokens")
            }
            types = t
        }
        func id(_ key: String) throws -> Int? {
            guard let v = self["tokenizer.ggml.\(key)"]?.intValue else { return nil }
            guard v >= 0, v < tokens.count else {
                throw CheckpointError.malformed(path: path, what: "tokenizer.ggml.\(key) = \(v) is outside the \(tokens.count) tokens")
            }
            return v
        }
        var scores: [Float]?
        if let a = self["tokenizer.ggml.scores"]?.arrayValue {
            let f = a.compactMap { $0.doubleValue.map(Float.init) }
            guard f.count == a.count, f.count == tokens.count else {
                throw CheckpointError.malformed(path: path, what: "tokenizer.ggml.scores has \(a.count) numbers for \(tokens.count) tokens")
            }
            scores = f
        }
        return GGUFTokenizerData(
            model: model, pre: self["tokenizer.ggml.pre"]?.stringValue, tokens: tokens,
            merges: try strings("tokenizer.ggml.merges"), tokenTypes: types,
            bosTokenId: try id("bos_token_id"), eosTokenId: try id("eos_token_id"),
            unknownTokenId: try id("unknown_token_id"), paddingTokenId: try id("padding_token_id"),
            addBOS: self["tokenizer.ggml.add_bos_token"]?.boolValue ?? false,
            chatTemplate: self["tokenizer.chat_template"]?.stringValue, scores: scores,
            addSpacePrefix: self["tokenizer.ggml.add_space_prefix"]?.boolValue,
            addEOS: self["tokenizer.ggml.add_eos_token"]?.boolValue)
    }

    /// Dequantises every tensor (in parallel) and maps names, config and tokenizer to the Hugging
    /// Face convention; q/k rows are un-permuted for `llama` / `mistral` files. With `half`, the decoder
    /// Linears' weights are kept in that 16-bit format (`halfTensors`), each rounded as soon as it is converted.
    public func load(half: HalfTensor.Kind? = nil) throws -> LoadedCheckpoint {
        let config = try modelConfig()
        let arch = self["general.architecture"]?.stringValue ?? ""
        let unpermute = arch == "llama" || arch == "mistral" || arch == Self.perLayerLlama
        let infos = tensors
        let results = ResultSlots(count: infos.count)
        DispatchQueue.concurrentPerform(iterations: infos.count) { i in
            results.set(i, Result {
                let (name, t) = try self.convert(infos[i], config: config, unpermute: unpermute, architecture: arch)
                if let half, CheckpointLoader.isDecoderLinearWeight(name) {
                    return (name, .half(HalfTensor(shape: t.shape, kind: half, values: t.data)))
                }
                return (name, .full(t))
            })
        }
        var out: [String: Tensor] = [:]
        var halves: [String: HalfTensor] = [:]
        var types: [String: String] = [:]
        for (i, info) in infos.enumerated() {
            let (name, t) = try results.get(i)
            guard out[name] == nil, halves[name] == nil else { throw CheckpointError.malformed(path: path, what: "two tensors map to \(name)") }
            switch t {
            case .full(let x): out[name] = x
            case .half(let x): halves[name] = x
            }
            types[name] = info.type.name
        }
        fillRemovedAttention(&out, config)
        try checkShapes(out, config)
        let tok = try tokenizerData().map(TokenizerData.gguf)
        var ck = LoadedCheckpoint(config: config, tensors: out, tokenizer: tok, source: path, storageTypes: types)
        ck.halfTensors = halves
        return ck
    }

    private func convert(_ info: GGUFTensorInfo, config: ModelConfig, unpermute: Bool, architecture: String) throws -> (String, Tensor) {
        let name = GGUFNames.huggingFaceName(info.name, architecture: architecture) ?? info.name
        var t = try dequantizedTensor(info)
        if GGUFNames.storesNormGainPlusOne(architecture), name.hasSuffix("norm.weight") {
            t.data = t.data.map { $0 - 1 }  // llama.cpp stores Gemma's RMSNorm gains as 1 + w; Hugging Face as w
        }
        guard unpermute else { return (name, t) }
        let isQ = name.contains(".self_attn.q_proj."), isK = name.contains(".self_attn.k_proj.")
        guard isQ || isK else { return (name, t) }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        let layer = parts.count > 2 && parts[0] == "model" && parts[1] == "layers" ? Int(parts[2]) ?? -1 : -1
        guard layer >= 0, layer < config.numLayers else {
            throw CheckpointError.malformed(path: path, what: "tensor \(info.name) names layer \(layer) of \(config.numLayers)")
        }
        let h = isQ ? config.heads(layer) : config.kvHeads(layer)
        let rows = t.shape.first ?? 0
        if h == 0, rows == 0 { return (name, t) }
        guard h > 0, rows == h * config.headDim, config.headDim % 2 == 0 else {
            throw CheckpointError.missingTensor(path: path, name: "\(name) (shape \(t.shape), expected \(h)·\(config.headDim) rows)")
        }
        let cols = t.shape.count > 1 ? t.cols : 1
        var out = t.data
        t.data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                unpermuteRoPERows(dst.baseAddress!, src.baseAddress!, heads: h, headDim: config.headDim, cols: cols)
            }
        }
        t.data = out
        return (name, t)
    }

    /// Compact (`deci`) files have no attention tensors in layers whose heads are all removed; the engine
    /// wants empty ones (and an unused norm).
    private func fillRemovedAttention(_ t: inout [String: Tensor], _ c: ModelConfig) {
        guard c.headCounts != nil else { return }
        for l in 0..<c.numLayers where c.heads(l) == 0 {
            let p = "model.layers.\(l)."
            for m in ["q_proj", "k_proj", "v_proj"] where t[p + "self_attn.\(m).weight"] == nil {
                t[p + "self_attn.\(m).weight"] = Tensor(shape: [0, c.hiddenSize], data: [])
            }
            if t[p + "self_attn.o_proj.weight"] == nil { t[p + "self_attn.o_proj.weight"] = Tensor(shape: [c.hiddenSize, 0], data: []) }
            if t[p + "input_layernorm.weight"] == nil {
                t[p + "input_layernorm.weight"] = Tensor(shape: [c.hiddenSize], data: .init(repeating: 1, count: c.hiddenSize))
            }
        }
    }

    private func checkShapes(_ t: [String: Tensor], _ c: ModelConfig) throws {
        guard let e = t["model.embed_tokens.weight"], e.shape == [c.vocabSize, c.hiddenSize] else {
            throw CheckpointError.missingTensor(path: path, name: "token_embd.weight (expected \(c.vocabSize)×\(c.hiddenSize))")
        }
        if !c.tieWordEmbeddings, t["lm_head.weight"]?.shape != [c.vocabSize, c.hiddenSize] {
            throw CheckpointError.missingTensor(path: path, name: "output.weight (expected \(c.vocabSize)×\(c.hiddenSize))")
        }
    }
}

/// Per-index result storage written concurrently by `concurrentPerform` (each index once).
private final class ResultSlots: @unchecked Sendable {
    enum Converted { case full(Tensor), half(HalfTensor) }
    private var slots: [Result<(String, Converted), Error>?]
    private let lock = NSLockLike()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<(String, Converted), Error>) { lock.locked { slots[i] = r } }
    func get(_ i: Int) throws -> (String, Converted) { try slots[i]!.get() }
}
