/// A byte-level BPE tokenizer (GPT-2 family: SmolLM, Llama 3, Qwen 2, …) that reproduces Hugging Face
/// `tokenizers`: added tokens matched whole first, then a pre-tokenizer split, then merges by rank on
/// each word's bytes.
public struct BPETokenizer: Sendable {
    /// Vocabulary strings by id, byte-level spelled (`Ġ` for a space); added tokens as written.
    public let tokens: [String]
    /// The split applied before BPE.
    public let preTokenizer: PreTokenizer
    /// Tokens matched whole in the text before splitting.
    public let addedTokens: [AddedToken]
    public let bosTokenId: Int32?
    public let eosTokenId: Int32?
    /// Whether `encode` puts BOS first / EOS last (when `addSpecialTokens`).
    public let addBOS: Bool
    public let addEOS: Bool
    /// Take a word whole when it is itself in the vocabulary (`tokenizers`' `ignore_merges`, Llama 3).
    public let ignoreMerges: Bool

    let ids: [String: Int32]
    let merges: BPEMerges
    /// The bytes each id decodes to. // (V)
    let bytesOfId: [[UInt8]]
    /// The id of each single byte, -1 when the vocabulary lacks it. // (256)
    let idOfByte: [Int32]
    let matcher: AddedTokenMatcher
    let specialIds: Set<Int32>
    let cache = BPECache()

    /// Builds a tokenizer from a vocabulary and merges.
    /// - Parameters:
    ///   - vocabulary: token strings by id (gaps allowed as empty strings), byte-level spelled.
    ///   - merges: merge rules in rank order.
    ///   - addedTokens: tokens matched whole before pre-tokenization; their ids may lie past `vocabulary`.
    public init(vocabulary: [String], merges: [(String, String)], addedTokens: [AddedToken],
                preTokenizer: PreTokenizer, bosTokenId: Int32?, eosTokenId: Int32?,
                addBOS: Bool, addEOS: Bool = false, ignoreMerges: Bool = false) throws {
        var tokens = vocabulary
        for added in addedTokens {
            guard added.id >= 0 else { throw TokenizerError.badTokenId(field: "added token `\(added.content)`", id: Int(added.id), vocabularySize: tokens.count) }
            if Int(added.id) >= tokens.count { tokens += Array(repeating: "", count: Int(added.id) + 1 - tokens.count) }
            if tokens[Int(added.id)].isEmpty { tokens[Int(added.id)] = added.content }
        }
        for (field, id) in [("bos_token_id", bosTokenId), ("eos_token_id", eosTokenId)] {
            if let id, id < 0 || Int(id) >= tokens.count {
                throw TokenizerError.badTokenId(field: field, id: Int(id), vocabularySize: tokens.count)
            }
        }
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() where !token.isEmpty && ids[token] == nil { ids[token] = Int32(id) }
        let addedIds = Set(addedTokens.map(\.id))
        self.bytesOfId = tokens.enumerated().map { id, token in
            if addedIds.contains(Int32(id)) { return Array(token.utf8) }
            return ByteLevel.decode(token) ?? Array(token.utf8)
        }
        self.idOfByte = (0..<256).map { ids[String(ByteLevel.scalarOfByte[$0])] ?? -1 }
        self.tokens = tokens
        self.ids = ids
        self.merges = BPEMerges(merges: merges, ids: ids)
        self.addedTokens = addedTokens
        self.matcher = AddedTokenMatcher(addedTokens)
        self.specialIds = Set(addedTokens.filter(\.special).map(\.id))
        self.preTokenizer = preTokenizer
        self.bosTokenId = bosTokenId; self.eosTokenId = eosTokenId
        self.addBOS = addBOS; self.addEOS = addEOS
        self.ignoreMerges = ignoreMerges
    }

    /// Builds a tokenizer from GGUF-style fields (`tokenizer.ggml.*` of a `gpt2` model), as Hugging
    /// Face's GGUF converter does: tokens outside the byte alphabet are respelled, control tokens (type 3)
    /// spelled in the alphabet become special added tokens, user-defined ones (type 4) plain added tokens.
    public init(tokens: [String], merges: [String], tokenTypes: [Int32]?, preTokenizer: PreTokenizer,
                bosTokenId: Int32?, eosTokenId: Int32?, addBOS: Bool) throws {
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(merges.count)
        for (index, rule) in merges.enumerated() {
            let parts = rule.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw TokenizerError.badMerge(index: index, rule: rule) }
            pairs.append((String(parts[0]), String(parts[1])))
        }
        let vocabulary = tokens.map { ByteLevel.isSpelled($0) ? $0 : ByteLevel.encode($0.utf8) }
        var added: [AddedToken] = []
        if let tokenTypes {
            for (id, (token, type)) in zip(tokens, tokenTypes).enumerated() {
                if type == 3 && ByteLevel.isSpelled(token) {
                    added.append(AddedToken(id: Int32(id), content: token, special: true))
                } else if type == 4 {
                    added.append(AddedToken(id: Int32(id), content: token, special: false))
                }
            }
        }
        try self.init(vocabulary: vocabulary, merges: pairs, addedTokens: added, preTokenizer: preTokenizer,
                      bosTokenId: bosTokenId, eosTokenId: eosTokenId, addBOS: addBOS)
    }

    /// Number of ids (the model's vocabulary size).
    public var vocabularySize: Int { tokens.count }

    /// Ids of the special (control) added tokens.
    public var specialTokenIds: Set<Int32> { specialIds }

    public func isSpecial(_ id: Int32) -> Bool { specialIds.contains(id) }

    /// The id of a vocabulary string (byte-level spelled) or added token.
    public func id(of token: String) -> Int32? { ids[token] }

    /// The vocabulary string of an id, nil outside the vocabulary.
    public func token(of id: Int32) -> String? {
        id >= 0 && Int(id) < tokens.count ? tokens[Int(id)] : nil
    }
}
