/// The raw tokenizer description a checkpoint carries; the `Tokenizer` module builds a tokenizer
/// from it. Checkpoint readers only extract it, they never interpret it.
public enum TokenizerData: Sendable {
    /// GGUF metadata (`tokenizer.ggml.*`).
    case gguf(GGUFTokenizerData)
    /// The bytes of a Hugging Face `tokenizer.json` (plus `tokenizer_config.json` when present).
    case huggingFace(tokenizerJSON: [UInt8], tokenizerConfigJSON: [UInt8]?)
}

/// Tokenizer fields read from GGUF metadata.
public struct GGUFTokenizerData: Sendable, Equatable {
    /// `tokenizer.ggml.model`, e.g. `gpt2` (byte-level BPE) or `llama` (SentencePiece).
    public var model: String
    /// `tokenizer.ggml.pre`, e.g. `smollm`, `llama-bpe`, `gpt2`, `qwen2`.
    public var pre: String?
    /// `tokenizer.ggml.tokens`: token strings by id (byte-level encoded for `gpt2`).
    public var tokens: [String]
    /// `tokenizer.ggml.merges`: "left right" pairs in rank order.
    public var merges: [String]
    /// `tokenizer.ggml.token_type`: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
    public var tokenTypes: [Int32]?
    public var bosTokenId: Int?
    public var eosTokenId: Int?
    public var unknownTokenId: Int?
    public var paddingTokenId: Int?
    /// `tokenizer.ggml.add_bos_token` (default false for `gpt2`).
    public var addBOS: Bool
    /// `tokenizer.chat_template`, when present.
    public var chatTemplate: String?
    /// `tokenizer.ggml.scores` (SentencePiece piece scores), when present.
    public var scores: [Float]?
    /// `tokenizer.ggml.add_space_prefix` (SentencePiece's dummy prefix), when present.
    public var addSpacePrefix: Bool?
    /// `tokenizer.ggml.add_eos_token`, when present.
    public var addEOS: Bool?

    public init(model: String, pre: String?, tokens: [String], merges: [String], tokenTypes: [Int32]?,
                bosTokenId: Int?, eosTokenId: Int?, unknownTokenId: Int?, paddingTokenId: Int?,
                addBOS: Bool, chatTemplate: String?, scores: [Float]? = nil, addSpacePrefix: Bool? = nil,
                addEOS: Bool? = nil) {
        self.model = model; self.pre = pre; self.tokens = tokens; self.merges = merges
        self.tokenTypes = tokenTypes; self.bosTokenId = bosTokenId; self.eosTokenId = eosTokenId
        self.unknownTokenId = unknownTokenId; self.paddingTokenId = paddingTokenId
        self.addBOS = addBOS; self.chatTemplate = chatTemplate
        self.scores = scores; self.addSpacePrefix = addSpacePrefix; self.addEOS = addEOS
    }
}
