/// What the engine asks of a tokenizer, whatever its kind.
public protocol TextTokenizer: Sendable {
    var vocabularySize: Int { get }
    var bosTokenId: Int32? { get }
    var eosTokenId: Int32? { get }
    func encode(_ text: String, addSpecialTokens: Bool, matchAddedTokens: Bool) -> [Int32]
    func decode(_ ids: [Int32], skipSpecialTokens: Bool) -> String
    /// The bytes an id stands for; empty outside the vocabulary.
    func tokenBytes(_ id: Int32) -> [UInt8]
    func isSpecial(_ id: Int32) -> Bool
    func id(of token: String) -> Int32?
    func token(of id: Int32) -> String?
}

extension BPETokenizer: TextTokenizer {}
extension SentencePieceTokenizer: TextTokenizer {}

/// A model's tokenizer: byte-level BPE (GPT-2 style: SmolLM2, Llama 3, Qwen 2) or SentencePiece BPE
/// (Gemma). Call sites use it as they would either.
public enum ModelTokenizer: TextTokenizer {
    case bpe(BPETokenizer)
    case sentencePiece(SentencePieceTokenizer)

    private var base: any TextTokenizer {
        switch self {
        case .bpe(let t): return t
        case .sentencePiece(let t): return t
        }
    }

    public var vocabularySize: Int { base.vocabularySize }
    public var bosTokenId: Int32? { base.bosTokenId }
    public var eosTokenId: Int32? { base.eosTokenId }
    /// Whether `encode` puts BOS first.
    public var addBOS: Bool {
        switch self {
        case .bpe(let t): return t.addBOS
        case .sentencePiece(let t): return t.addBOS
        }
    }

    /// Token ids of `text` (see `BPETokenizer.encode` / `SentencePieceTokenizer.encode`).
    public func encode(_ text: String, addSpecialTokens: Bool = true, matchAddedTokens: Bool = true) -> [Int32] {
        switch self {
        case .bpe(let t): return t.encode(text, addSpecialTokens: addSpecialTokens, matchAddedTokens: matchAddedTokens)
        case .sentencePiece(let t): return t.encode(text, addSpecialTokens: addSpecialTokens, matchAddedTokens: matchAddedTokens)
        }
    }

    public func decode(_ ids: [Int32], skipSpecialTokens: Bool = false) -> String {
        switch self {
        case .bpe(let t): return t.decode(ids, skipSpecialTokens: skipSpecialTokens)
        case .sentencePiece(let t): return t.decode(ids, skipSpecialTokens: skipSpecialTokens)
        }
    }

    public func decodeToken(_ id: Int32) -> String { String(decoding: tokenBytes(id), as: UTF8.self) }

    public func tokenBytes(_ id: Int32) -> [UInt8] {
        switch self {
        case .bpe(let t): return t.tokenBytes(id)
        case .sentencePiece(let t): return t.tokenBytes(id)
        }
    }

    public func isSpecial(_ id: Int32) -> Bool {
        switch self {
        case .bpe(let t): return t.isSpecial(id)
        case .sentencePiece(let t): return t.isSpecial(id)
        }
    }

    public var specialTokenIds: Set<Int32> {
        switch self {
        case .bpe(let t): return t.specialTokenIds
        case .sentencePiece(let t): return t.specialTokenIds
        }
    }

    public func id(of token: String) -> Int32? { base.id(of: token) }
    public func token(of id: Int32) -> String? { base.token(of: id) }
}
