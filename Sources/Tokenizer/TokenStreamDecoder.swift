/// Turns generated ids into text as they come, holding back bytes of an unfinished UTF-8 character.
public struct TokenStreamDecoder: Sendable {
    private var pending: [UInt8] = []
    public let skipSpecialTokens: Bool

    public init(skipSpecialTokens: Bool = false) { self.skipSpecialTokens = skipSpecialTokens }

    /// The text completed by `id` (possibly empty).
    public mutating func push<T: TextTokenizer>(_ id: Int32, _ tokenizer: T) -> String {
        if skipSpecialTokens && tokenizer.isSpecial(id) { return "" }
        pending.append(contentsOf: tokenizer.tokenBytes(id))
        let complete = TokenStreamDecoder.completePrefix(pending)
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Whatever is held back, lossily.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of `bytes` without a trailing unfinished (but so far valid-looking) UTF-8 sequence.
    static func completePrefix(_ bytes: [UInt8]) -> Int {
        let end = bytes.count
        var start = end - 1
        while start >= 0 && start >= end - 3 && bytes[start] & 0xC0 == 0x80 { start -= 1 }
        guard start >= 0 else { return end }
        let lead = bytes[start]
        let length = lead >= 0xF0 && lead < 0xF8 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        return end - start < length && lead >= 0xC0 && lead < 0xF8 ? start : end
    }
}
