/// A SentencePiece BPE tokenizer as GGUF files describe it (`tokenizer.ggml.model` = `llama`) for the
/// Gemma family, encoding as Hugging Face transformers' GGUF converter builds it (`GemmaTokenizer`):
/// - control (type 3) and user-defined (type 4) tokens are matched whole in the raw text first,
///   leftmost and longest (so `\n`, `\n\n`, tab runs, `<start_of_turn>` never reach BPE);
/// - each stretch between them gets its spaces replaced by U+2581 `▁` (no dummy prefix), and is one
///   BPE word over Unicode scalars; a scalar missing from the vocabulary becomes its UTF-8 bytes
///   (`<0xNN>` tokens, byte fallback);
/// - merges: a pair merges when the two pieces joined are a token; lower token id first (the order
///   the file lists its tokens, not the scores), and among splits of one token the longer left piece
///   first; equal ranks leftmost first.
/// A vocabulary token made only of spaces is looked up as as many `▁` (the file stores `"  "`).
public struct SentencePieceTokenizer: Sendable {
    /// Vocabulary strings by id as the file spells them (`▁` for a space, `<0x41>` for a byte).
    public let tokens: [String]
    /// `tokenizer.ggml.token_type` by id: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
    public let tokenTypes: [Int32]
    /// Tokens matched whole in the text before BPE.
    public let addedTokens: [AddedToken]
    public let bosTokenId: Int32?
    public let eosTokenId: Int32?
    public let unknownTokenId: Int32?
    /// Whether `encode` puts BOS first / EOS last (when `addSpecialTokens`).
    public let addBOS: Bool
    public let addEOS: Bool

    /// UTF-8 of the tokens as BPE sees them: space runs respelled as `▁` runs. // (V)
    /// (Bytes, not `String`: Swift's `String` equality is canonical equivalence, and `e` + U+0301 must
    /// not find the token `é`.)
    let pieces: [[UInt8]]
    /// Piece → id.
    let ids: [[UInt8]: Int32]
    /// Length in Unicode scalars of each token as BPE sees it. // (V)
    let scalarLength: [UInt8]
    /// The id of each single-scalar token of the Basic Multilingual Plane, -1 when missing. // (65536)
    let idOfBMPScalar: [Int32]
    /// The id of each single-scalar token past it.
    let idOfAstralScalar: [UInt32: Int32]
    /// The `<0xNN>` token of each byte, -1 when missing. // (256)
    let idOfByte: [Int32]
    /// The byte a `<0xNN>` token stands for, -1 for other tokens. // (V)
    let byteOfId: [Int16]
    let matcher: AddedTokenMatcher
    let specialIds: Set<Int32>

    /// Builds the tokenizer from GGUF-style fields.
    /// - Parameters:
    ///   - tokens: `tokenizer.ggml.tokens`.
    ///   - tokenTypes: `tokenizer.ggml.token_type` (all normal when nil).
    ///   - addSpacePrefix: `tokenizer.ggml.add_space_prefix`; only false (Gemma) is implemented.
    public init(tokens: [String], tokenTypes: [Int32]?, bosTokenId: Int32?, eosTokenId: Int32?,
                unknownTokenId: Int32?, addBOS: Bool, addEOS: Bool = false, addSpacePrefix: Bool = false) throws {
        guard !addSpacePrefix else {
            throw TokenizerError.unsupported(field: "GGUF tokenizer.ggml.add_space_prefix",
                                             value: "true (SentencePiece with a dummy prefix, Llama 2 style, is not implemented; Gemma's false is)")
        }
        let types = tokenTypes ?? Array(repeating: 1, count: tokens.count)
        guard types.count == tokens.count else { throw TokenizerError.missingField("tokenizer.ggml.token_type (one per token)") }
        for (field, id) in [("bos_token_id", bosTokenId), ("eos_token_id", eosTokenId), ("unknown_token_id", unknownTokenId)] {
            if let id, id < 0 || Int(id) >= tokens.count {
                throw TokenizerError.badTokenId(field: field, id: Int(id), vocabularySize: tokens.count)
            }
        }
        var ids: [[UInt8]: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        var scalarLength = [UInt8](repeating: 0, count: tokens.count)
        var idOfBMPScalar = [Int32](repeating: -1, count: 0x10000)
        var idOfAstralScalar: [UInt32: Int32] = [:]
        var idOfByte = [Int32](repeating: -1, count: 256)
        var byteOfId = [Int16](repeating: -1, count: tokens.count)
        var pieces: [[UInt8]] = []
        pieces.reserveCapacity(tokens.count)
        for (index, token) in tokens.enumerated() {
            let id = Int32(index)
            let spelled = Self.isSpaceRun(token) ? String(repeating: "\u{2581}", count: token.unicodeScalars.count) : token
            let piece = Array(spelled.utf8)
            pieces.append(piece)
            ids[piece] = id  // last wins, as a Python dict
            let count = spelled.unicodeScalars.count
            scalarLength[index] = UInt8(min(count, 255))
            if count == 1 {
                let value = spelled.unicodeScalars.first!.value
                if value < 0x10000 { idOfBMPScalar[Int(value)] = id } else { idOfAstralScalar[value] = id }
            }
            if types[index] == 6, let byte = Self.byteValue(token) {
                byteOfId[index] = Int16(byte)
                if idOfByte[Int(byte)] < 0 { idOfByte[Int(byte)] = id }
            }
        }
        // Added tokens: control ones (and the unknown / BOS / EOS tokens) special, user-defined plain;
        // a user-defined space run is not (transformers looks it up under its raw spelling and misses).
        var added: [AddedToken] = []
        var special = Set<Int32>()
        for (index, (token, type)) in zip(tokens, types).enumerated() {
            let id = Int32(index)
            if type == 2 || type == 3 || id == bosTokenId || id == eosTokenId || id == unknownTokenId {
                added.append(AddedToken(id: id, content: token, special: true))
                special.insert(id)
            } else if type == 4 && !Self.isSpaceRun(token) {
                added.append(AddedToken(id: id, content: token, special: false))
            }
        }
        self.tokens = tokens
        self.tokenTypes = types
        self.addedTokens = added
        self.bosTokenId = bosTokenId; self.eosTokenId = eosTokenId; self.unknownTokenId = unknownTokenId
        self.addBOS = addBOS; self.addEOS = addEOS
        self.pieces = pieces
        self.ids = ids
        self.scalarLength = scalarLength
        self.idOfBMPScalar = idOfBMPScalar
        self.idOfAstralScalar = idOfAstralScalar
        self.idOfByte = idOfByte
        self.byteOfId = byteOfId
        self.matcher = AddedTokenMatcher(added)
        self.specialIds = special
    }

    /// A token of spaces only (transformers' Gemma fix: `" " in t and not t.strip()`).
    static func isSpaceRun(_ token: String) -> Bool {
        var hasSpace = false
        for s in token.unicodeScalars {
            if s == " " { hasSpace = true } else if !s.properties.isWhitespace { return false }
        }
        return hasSpace
    }

    /// 0xNN of a `<0xNN>` token.
    static func byteValue(_ token: String) -> UInt8? {
        let u = Array(token.utf8)
        guard u.count == 6, u[0] == UInt8(ascii: "<"), u[1] == UInt8(ascii: "0"), u[2] == UInt8(ascii: "x"),
              u[5] == UInt8(ascii: ">") else { return nil }
        return UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16)
    }

    /// Number of ids (the model's vocabulary size).
    public var vocabularySize: Int { tokens.count }

    /// Ids of the special (control) added tokens.
    public var specialTokenIds: Set<Int32> { specialIds }

    public func isSpecial(_ id: Int32) -> Bool { specialIds.contains(id) }

    /// The id of a vocabulary string (as the file spells it; a space run also as `▁`s).
    public func id(of token: String) -> Int32? {
        if let id = ids[Array(token.utf8)] { return id }
        return Self.isSpaceRun(token) ? ids[Array(String(repeating: "\u{2581}", count: token.unicodeScalars.count).utf8)] : nil
    }

    /// The vocabulary string of an id, nil outside the vocabulary.
    public func token(of id: Int32) -> String? {
        id >= 0 && Int(id) < tokens.count ? tokens[Int(id)] : nil
    }
}
