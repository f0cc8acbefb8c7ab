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
