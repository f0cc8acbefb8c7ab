/// Why a tokenizer could not be built from its description.
public enum TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// `tokenizer.json` is not valid JSON or not an object.
    case invalidJSON(String)
    /// A field the tokenizer needs is absent or has the wrong type.
    case missingField(String)
    /// A field holds a value this tokenizer does not implement (e.g. a WordPiece model, an unknown split regex).
    case unsupported(field: String, value: String)
    /// A merge rule is not two space-separated tokens.
    case badMerge(index: Int, rule: String)
    /// A token id (BOS, EOS, an added token) lies outside the vocabulary.
    case badTokenId(field: String, id: Int, vocabularySize: Int)

    public var description: String {
        switch self {
        case .invalidJSON(let why): return "tokenizer.json: not a JSON object (\(why))"
        case .missingField(let field): return "tokenizer: missing or mistyped field `\(field)`"
        case .unsupported(let field, let value): return "tokenizer: unsupported \(field) `\(value)`"
        case .badMerge(let index, let rule): return "tokenizer: merge \(index) `\(rule)` is not two tokens separated by one space"
        case .badTokenId(let field, let id, let size): return "tokenizer: \(field) = \(id) is outside the vocabulary of \(size) tokens"
        }
    }
}
