/// A token matched whole in the raw text before pre-tokenization (`<|im_start|>`, `<|endoftext|>`, …).
public struct AddedToken: Sendable, Equatable {
    public var id: Int32
    public var content: String
    /// Special (control) tokens can be skipped when decoding.
    public var special: Bool
    /// Absorb whitespace to the left / right of a match (`tokenizers`' `lstrip` / `rstrip`).
    public var leftStrip: Bool
    public var rightStrip: Bool

    public init(id: Int32, content: String, special: Bool, leftStrip: Bool = false, rightStrip: Bool = false) {
        self.id = id; self.content = content; self.special = special
        self.leftStrip = leftStrip; self.rightStrip = rightStrip
    }
}

/// Finds added tokens in scalar text, leftmost first and longest among those starting at one place.
struct AddedTokenMatcher: Sendable {
    private var tokens: [(scalars: [UInt32], token: AddedToken)] = []
    private var firstScalars: Set<UInt32> = []

    init(_ added: [AddedToken]) {
        tokens = added.filter { !$0.content.isEmpty }
            .map { (scalars: $0.content.unicodeScalars.map(\.value), token: $0) }
            .sorted { $0.scalars.count > $1.scalars.count }
        firstScalars = Set(tokens.map { $0.scalars[0] })
    }

    var isEmpty: Bool { tokens.isEmpty }

    /// Cuts `text` into plain stretches (id nil) and added tokens (their id), in order.
    func segments(_ text: ScalarText) -> [(range: Range<Int>, id: Int32?)] {
        let count = text.count
        guard !tokens.isEmpty else { return count > 0 ? [(0..<count, nil)] : [] }
        var result: [(range: Range<Int>, id: Int32?)] = []
        var plainStart = 0
        var i = 0
        let s = text.scalars
        while i < count {
            guard firstScalars.contains(s[i]), let found = tokens.first(where: { candidate in
                let length = candidate.scalars.count
                guard i + length <= count else { return false }
                for k in 0..<length where s[i + k] != candidate.scalars[k] { return false }
                return true
            }) else {
                i += 1
                continue
            }
            var start = i, end = i + found.scalars.count
            if found.token.leftStrip {
                while start > plainStart && text.classes[start - 1] & ScalarText.space != 0 { start -= 1 }
            }
            if found.token.rightStrip {
                while end < count && text.classes[end] & ScalarText.space != 0 { end += 1 }
            }
            if plainStart < start { result.append((plainStart..<start, nil)) }
            result.append((start..<end, found.token.id))
            plainStart = end
            i = end
        }
        if plainStart < count { result.append((plainStart..<count, nil)) }
        return result
    }
}
