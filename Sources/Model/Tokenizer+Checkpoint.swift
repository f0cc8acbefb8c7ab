import Checkpoint
import Tokenizer

extension ModelTokenizer {
    /// The tokenizer a checkpoint describes: GGUF `gpt2` (byte-level BPE) or `llama` (SentencePiece BPE,
    /// Gemma style) metadata, or a Hugging Face `tokenizer.json`. Other GGUF tokenizer models (`t5`, …) throw.
    public init(_ data: TokenizerData) throws {
        if case .gguf(let gguf) = data, gguf.model == "llama" {
            self = .sentencePiece(try SentencePieceTokenizer(gguf))
        } else {
            self = .bpe(try BPETokenizer(data))
        }
    }
}

extension SentencePieceTokenizer {
    /// From GGUF `llama` metadata (`tokenizer.ggml.tokens`, `token_type`, special ids, `add_bos_token`,
    /// `add_space_prefix`). BOS is added unless the file says otherwise, as llama.cpp and transformers do.
    public init(_ gguf: GGUFTokenizerData) throws {
        guard gguf.model == "llama" else {
            throw TokenizerError.unsupported(field: "GGUF tokenizer.ggml.model",
                                             value: "\(gguf.model) (expected llama for SentencePiece)")
        }
        // llama.cpp reads a missing add_space_prefix as true (Llama 2); only Gemma's false is implemented.
        try self.init(tokens: gguf.tokens, tokenTypes: gguf.tokenTypes,
                      bosTokenId: try BPETokenizer.tokenId(gguf.bosTokenId, "tokenizer.ggml.bos_token_id"),
                      eosTokenId: try BPETokenizer.tokenId(gguf.eosTokenId, "tokenizer.ggml.eos_token_id"),
                      unknownTokenId: try BPETokenizer.tokenId(gguf.unknownTokenId, "tokenizer.ggml.unknown_token_id"),
                      addBOS: gguf.addBOS, addEOS: gguf.addEOS ?? false,
                      addSpacePrefix: gguf.addSpacePrefix ?? true)
    }
}

extension BPETokenizer {
    /// The tokenizer a checkpoint describes: GGUF `gpt2` (byte-level BPE) metadata or a Hugging Face
    /// `tokenizer.json`. Other GGUF tokenizer models (`llama` SentencePiece, `t5`, …) throw; use
    /// `ModelTokenizer(_:)` for those `SentencePieceTokenizer` handles.
    public init(_ data: TokenizerData) throws {
        switch data {
        case .gguf(let gguf):
            guard gguf.model == "gpt2" else {
                throw TokenizerError.unsupported(field: "GGUF tokenizer.ggml.model",
                                                 value: "\(gguf.model) (byte-level BPE needs gpt2; llama is SentencePiece; only these two are implemented)")
            }
            try self.init(tokens: gguf.tokens, merges: gguf.merges, tokenTypes: gguf.tokenTypes,
                          preTokenizer: PreTokenizer(ggufPre: gguf.pre),
                          bosTokenId: try Self.tokenId(gguf.bosTokenId, "tokenizer.ggml.bos_token_id"),
                          eosTokenId: try Self.tokenId(gguf.eosTokenId, "tokenizer.ggml.eos_token_id"),
                          addBOS: gguf.addBOS)
        case .huggingFace(let tokenizerJSON, let tokenizerConfigJSON):
            try self.init(tokenizerJSON: tokenizerJSON, tokenizerConfigJSON: tokenizerConfigJSON)
        }
    }

    static func tokenId(_ id: Int?, _ field: String) throws -> Int32? {
        guard let id else { return nil }
        guard let narrow = Int32(exactly: id) else {
            throw TokenizerError.badTokenId(field: field, id: id, vocabularySize: 0)
        }
        return narrow
    }
}
