import Checkpoint
import Tokenizer

extension BPETokenizer {
    /// The tokenizer a checkpoint describes: GGUF `gpt2` (byte-level BPE) metadata or a Hugging Face
    /// `tokenizer.json`. Other GGUF tokenizer models (`llama` SentencePiece, `t5`, …) throw.
    public init(_ data: TokenizerData) throws {
        switch data {
        case .gguf(let gguf):
            guard gguf.model == "gpt2" else {
                throw TokenizerError.unsupported(field: "GGUF tokenizer.ggml.model",
                                                 value: "\(gguf.model) (only gpt2 byte-level BPE is implemented)")
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

    private static func tokenId(_ id: Int?, _ field: String) throws -> Int32? {
        guard let id else { return nil }
        guard let narrow = Int32(exactly: id) else {
            throw TokenizerError.badTokenId(field: field, id: id, vocabularySize: 0)
        }
        return narrow
    }
}
