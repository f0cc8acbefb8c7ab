/// Building Hugging Face tokenizer files from GGUF tokenizer metadata (byte-level BPE only).
extension GGUFTokenizerData {
    /// llama.cpp pre-tokenizer regexes (llama-vocab.cpp) by `tokenizer.ggml.pre`, applied before the
    /// byte-level mapping. `smollm`: digits isolated, then the GPT-2 pattern (inside ByteLevel).
    static let splitPatterns: [String: String] = [
        "smollm": "\\p{N}",
        "llama-bpe": "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
        "qwen2": "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    ]

    /// Whether `huggingFaceTokenizerJSON()` can express this tokenizer.
    public var isByteLevelBPE: Bool { model == "gpt2" }

    /// A `tokenizer.json` (tokenizers library format) that encodes like llama.cpp's tokenizer for
    /// this metadata: BPE over byte-level tokens, control / user-defined tokens as added tokens.
    /// Returns nil for tokenizer models other than `gpt2` (byte-level BPE).
    public func huggingFaceTokenizerJSON() -> [UInt8]? {
        guard isByteLevelBPE else { return nil }
        let q = SafetensorsWriter.jsonString
        var added: [String] = []
        for (id, t) in tokens.enumerated() {
            let type = id < (tokenTypes?.count ?? 0) ? tokenTypes![id] : 1
            guard type == 3 || type == 4 else { continue }
            added.append("{\"id\":\(id),\"content\":\(q(t)),\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":\(type == 3)}")
        }
        let byteLevel = "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":"
        let preTokenizer: String
        switch self.pre ?? "gpt2" {
        case "smollm":
            preTokenizer = "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\(q(Self.splitPatterns["smollm"]!))},\"behavior\":\"Isolated\",\"invert\":false},\(byteLevel)true}]}"
        case let p where Self.splitPatterns[p] != nil:
            preTokenizer = "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\(q(Self.splitPatterns[p]!))},\"behavior\":\"Isolated\",\"invert\":false},\(byteLevel)false}]}"
        default:
            preTokenizer = byteLevel + "true}"
        }
        var single = "[{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}]"
        var specials = "{}"
        if addBOS, let b = bosTokenId, b >= 0, b < tokens.count {
            single = "[{\"SpecialToken\":{\"id\":\(q(tokens[b])),\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}]"
            specials = "{\(q(tokens[b])):{\"id\":\(q(tokens[b])),\"ids\":[\(b)],\"tokens\":[\(q(tokens[b]))]}}"
        }
        var s = "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[\(added.joined(separator: ","))],"
        s += "\"normalizer\":null,\"pre_tokenizer\":\(preTokenizer),"
        s += "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":\(single),\"pair\":[{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"Sequence\":{\"id\":\"B\",\"type_id\":1}}],\"special_tokens\":\(specials)},"
        s += "\"decoder\":{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true},"
        s += "\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null,\"continuing_subword_prefix\":\"\",\"end_of_word_suffix\":\"\",\"fuse_unk\":false,\"byte_fallback\":false,\"ignore_merges\":false,\"vocab\":{"
        var seen = Set<String>()
        var vocab: [String] = []
        vocab.reserveCapacity(tokens.count)
        for (id, t) in tokens.enumerated() where seen.insert(t).inserted { vocab.append("\(q(t)):\(id)") }
        s += vocab.joined(separator: ",") + "},\"merges\":["
        s += merges.map { m -> String in
            let parts = m.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            return parts.count == 2 ? "[\(q(String(parts[0]))),\(q(String(parts[1])))]" : "[\(q(m)),\"\"]"
        }.joined(separator: ",")
        s += "]}}"
        return Array(s.utf8)
    }

    /// `tokenizer_config.json` matching `huggingFaceTokenizerJSON()`.
    public func huggingFaceTokenizerConfigJSON(modelMaxLength: Int) -> [UInt8] {
        let q = SafetensorsWriter.jsonString
        var fields = ["\"add_bos_token\":\(addBOS)", "\"add_eos_token\":false", "\"clean_up_tokenization_spaces\":false",
                      "\"model_max_length\":\(modelMaxLength)", "\"tokenizer_class\":\"PreTrainedTokenizerFast\""]
        for (key, id) in specialTokenIds() { fields.append("\"\(key)\":\(q(tokens[id]))") }
        if let t = chatTemplate { fields.append("\"chat_template\":\(q(t))") }
        return Array(("{" + fields.joined(separator: ",") + "}").utf8)
    }

    /// `special_tokens_map.json`.
    public func huggingFaceSpecialTokensMapJSON() -> [UInt8] {
        let q = SafetensorsWriter.jsonString
        return Array(("{" + specialTokenIds().map { "\"\($0.0)\":\(q(tokens[$0.1]))" }.joined(separator: ",") + "}").utf8)
    }

    private func specialTokenIds() -> [(String, Int)] {
        [("bos_token", bosTokenId), ("eos_token", eosTokenId), ("unk_token", unknownTokenId), ("pad_token", paddingTokenId)]
            .compactMap { k, v in v.flatMap { $0 >= 0 && $0 < tokens.count ? (k, $0) : nil } }
    }
}
