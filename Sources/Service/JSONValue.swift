/// A parsed JSON value, used to validate request bodies field by field (booleans stay booleans,
/// unlike `JSONSerialization`'s NSNumbers).
enum JSONValue: Decodable, Equatable, Sendable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    var string: String? { if case .string(let s) = self { return s }; return nil }
    var number: Double? { if case .number(let d) = self { return d }; return nil }
    var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    /// An integral number within Int range.
    var int: Int? {
        guard case .number(let d) = self, d == d.rounded(), abs(d) < 9.0e15 else { return nil }
        return Int(d)
    }
}

extension JSONValue {
    /// The deepest nesting of arrays and objects a request body may have. The decoder recurses once
    /// per level on the connection thread's stack (1 MiB), so depth is bounded before decoding.
    static let maxDepth = 64

    /// Why `checkShape` refused a body.
    enum ShapeError: Error, Equatable {
        /// More than `limit` bytes.
        case tooLarge(limit: Int)
        /// An array or object opened at byte `offset` is nested deeper than `limit`.
        case tooDeep(limit: Int, offset: Int)
    }

    /// A cheap, non-recursive pass over the raw bytes that bounds size and nesting before any
    /// recursive decoding: counts `[`/`{` against `]`/`}` outside strings (skipping escaped
    /// characters). It does not validate the JSON otherwise; the decoder does that next.
    static func checkShape(_ bytes: [UInt8], maxBytes: Int, maxDepth: Int = maxDepth) throws(ShapeError) {
        guard bytes.count <= maxBytes else { throw .tooLarge(limit: maxBytes) }
        var depth = 0
        var inString = false
        var escaped = false
        for (i, b) in bytes.enumerated() {
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > maxDepth { throw .tooDeep(limit: maxDepth, offset: i) }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth = max(0, depth - 1)
            default: break
            }
        }
    }
}
