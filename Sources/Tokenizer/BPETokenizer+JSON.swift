import Foundation

extension BPETokenizer {
    /// Reads a Hugging Face `tokenizer.json` with a byte-level BPE model: `model` BPE (vocab, merges as
    /// `"a b"` strings or `[a, b]` pairs, `ignore_merges`), `normalizer` null or NFC, `pre_tokenizer`
    /// ByteLevel or a Sequence of Digits / Split (a known pattern, Isolated) / ByteLevel, `added_tokens`,
    /// and a `TemplateProcessing` post-processor for BOS/EOS. `tokenizer_config.json`, when given, names
    /// BOS/EOS and `add_bos_token` / `add_eos_token`.
    public init(tokenizerJSON: [UInt8], tokenizerConfigJSON: [UInt8]? = nil) throws {
        let root = try BPETokenizer.object(tokenizerJSON, "tokenizer.json")
        guard let model = root["model"] as? [String: Any] else { throw TokenizerError.missingField("model") }
        let type = model["type"] as? String ?? "BPE"
        guard type == "BPE" else { throw TokenizerError.unsupported(field: "model.type", value: type) }
        guard let vocab = model["vocab"] as? [String: Any] else { throw TokenizerError.missingField("model.vocab") }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let value = model[key] as? String, !value.isEmpty { throw TokenizerError.unsupported(field: "model.\(key)", value: value) }
        }
        if model["byte_fallback"] as? Bool == true { throw TokenizerError.unsupported(field: "model.byte_fallback", value: "true") }

        var vocabulary: [String] = []
        for (token, value) in vocab {
            guard let id = (value as? NSNumber)?.intValue, id >= 0, id < 10_000_000 else {
                throw TokenizerError.missingField("model.vocab[\(token)]")
            }
            if id >= vocabulary.count { vocabulary += Array(repeating: "", count: id + 1 - vocabulary.count) }
            vocabulary[id] = token
        }

        var pairs: [(String, String)] = []
        let rawMerges = model["merges"] as? [Any] ?? []
        pairs.reserveCapacity(rawMerges.count)
        for (index, merge) in rawMerges.enumerated() {
            if let rule = merge as? String {
                let parts = rule.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw TokenizerError.badMerge(index: index, rule: rule) }
                pairs.append((String(parts[0]), String(parts[1])))
            } else if let pair = merge as? [String], pair.count == 2 {
                pairs.append((pair[0], pair[1]))
            } else {
                throw TokenizerError.badMerge(index: index, rule: "\(merge)")
            }
        }

        var normalizeNFC = false
        if let normalizer = root["normalizer"] as? [String: Any] {
            let kind = normalizer["type"] as? String ?? "?"
            guard kind == "NFC" else { throw TokenizerError.unsupported(field: "normalizer", value: kind) }
            normalizeNFC = true
        }
        let preTokenizer = try BPETokenizer.preTokenizer(root["pre_tokenizer"])

        var added: [AddedToken] = []
        for case let entry as [String: Any] in root["added_tokens"] as? [Any] ?? [] {
            guard let id = (entry["id"] as? NSNumber)?.intValue, let content = entry["content"] as? String else {
                throw TokenizerError.missingField("added_tokens[].id/content")
            }
            added.append(AddedToken(id: Int32(id), content: content, special: entry["special"] as? Bool ?? false,
                                    leftStrip: entry["lstrip"] as? Bool ?? false, rightStrip: entry["rstrip"] as? Bool ?? false))
        }
        func idOf(_ content: String) -> Int32? {
            if let token = added.first(where: { $0.content == content }) { return token.id }
            return vocab[content].flatMap { ($0 as? NSNumber)?.int32Value }
        }

        // BOS/EOS from the post-processor template, then tokenizer_config.json.
        var bos: Int32?, eos: Int32?, addBOS = false, addEOS = false
        let (first, last) = BPETokenizer.templateEnds(root["post_processor"])
        if let first, let id = idOf(first) { bos = id; addBOS = true }
        if let last, let id = idOf(last) { eos = id; addEOS = true }
        if let configBytes = tokenizerConfigJSON {
            let config = try BPETokenizer.object(configBytes, "tokenizer_config.json")
            func content(_ key: String) -> String? {
                if let text = config[key] as? String { return text }
                return (config[key] as? [String: Any])?["content"] as? String
            }
            if let name = content("bos_token"), let id = idOf(name) { bos = id }
            if let name = content("eos_token"), let id = idOf(name) { eos = id }
            if let flag = config["add_bos_token"] as? Bool { addBOS = flag && bos != nil }
            if let flag = config["add_eos_token"] as? Bool { addEOS = flag && eos != nil }
        }
        try self.init(vocabulary: vocabulary, merges: pairs, addedTokens: added, preTokenizer: preTokenizer,
                      bosTokenId: bos, eosTokenId: eos, addBOS: addBOS, addEOS: addEOS,
                      ignoreMerges: model["ignore_merges"] as? Bool ?? false, normalizeNFC: normalizeNFC)
    }

    private static func object(_ bytes: [UInt8], _ name: String) throws -> [String: Any] {
        do {
            guard let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
                throw TokenizerError.invalidJSON("\(name): top level is not an object")
            }
            return object
        } catch let error as TokenizerError {
            throw error
        } catch {
            throw TokenizerError.invalidJSON("\(name): \(error.localizedDescription)")
        }
    }

    /// The pre-tokenizer a `pre_tokenizer` entry describes.
    static func preTokenizer(_ value: Any?) throws -> PreTokenizer {
        guard let entry = value as? [String: Any] else {
            throw TokenizerError.unsupported(field: "pre_tokenizer", value: "null (byte-level BPE needs ByteLevel)")
        }
        let steps: [[String: Any]]
        if entry["type"] as? String == "Sequence" {
            steps = entry["pretokenizers"] as? [[String: Any]] ?? []
        } else {
            steps = [entry]
        }
        var splitDigits = false
        var pattern: PreTokenizer.Pattern?
        var sawByteLevel = false
        for step in steps {
            let kind = step["type"] as? String ?? "?"
            switch kind {
            case "Digits" where pattern == nil && !sawByteLevel:
                guard step["individual_digits"] as? Bool == true else {
                    throw TokenizerError.unsupported(field: "pre_tokenizer Digits", value: "individual_digits false")
                }
                splitDigits = true
            case "Split" where pattern == nil && !sawByteLevel && !splitDigits
                && ((step["pattern"] as? [String: Any])?["Regex"] as? String) == "\\p{N}"
                && (step["behavior"] as? String ?? "Isolated") == "Isolated" && step["invert"] as? Bool != true:
                // `Split(\p{N}, Isolated)` isolates every digit: the same as `Digits(individual_digits: true)`
                // (what llama.cpp's `smollm` pre-tokenizer does, and what Surgeon's HF writer emits).
                splitDigits = true
            case "Split" where pattern == nil && !sawByteLevel:
                let regex = (step["pattern"] as? [String: Any])?["Regex"] as? String ?? "\(step["pattern"] ?? "?")"
                guard let known = PreTokenizer.Pattern(regex: regex) else {
                    throw TokenizerError.unsupported(field: "pre_tokenizer Split pattern", value: regex)
                }
                let behavior = step["behavior"] as? String ?? "Isolated"
                guard behavior == "Isolated", step["invert"] as? Bool != true else {
                    throw TokenizerError.unsupported(field: "pre_tokenizer Split behavior", value: behavior)
                }
                pattern = known
            case "ByteLevel" where !sawByteLevel:
                if step["add_prefix_space"] as? Bool == true {
                    throw TokenizerError.unsupported(field: "pre_tokenizer ByteLevel add_prefix_space", value: "true")
                }
                if step["use_regex"] as? Bool ?? true {
                    guard pattern == nil else {
                        throw TokenizerError.unsupported(field: "pre_tokenizer", value: "Split followed by ByteLevel with use_regex")
                    }
                    pattern = .gpt2
                }
                sawByteLevel = true
            default:
                throw TokenizerError.unsupported(field: "pre_tokenizer step", value: kind)
            }
        }
        guard sawByteLevel, let pattern else {
            throw TokenizerError.unsupported(field: "pre_tokenizer", value: "no ByteLevel step or no split pattern")
        }
        return PreTokenizer(splitDigits: splitDigits, pattern: pattern)
    }

    /// The special tokens a `TemplateProcessing` post-processor puts before and after a single sequence.
    static func templateEnds(_ value: Any?) -> (first: String?, last: String?) {
        guard let entry = value as? [String: Any] else { return (nil, nil) }
        if entry["type"] as? String == "Sequence" {
            var result: (first: String?, last: String?) = (nil, nil)
            for processor in entry["processors"] as? [Any] ?? [] {
                let ends = templateEnds(processor)
                result = (result.first ?? ends.first, result.last ?? ends.last)
            }
            return result
        }
        guard entry["type"] as? String == "TemplateProcessing", let single = entry["single"] as? [[String: Any]] else {
            return (nil, nil)
        }
        func special(_ item: [String: Any]?) -> String? { (item?["SpecialToken"] as? [String: Any])?["id"] as? String }
        return (special(single.first), single.count > 1 ? special(single.last) : nil)
    }
}
