extension BPETokenizer {
    /// The bytes an id stands for (added tokens as written); empty outside the vocabulary.
    public func tokenBytes(_ id: Int32) -> [UInt8] {
        id >= 0 && Int(id) < bytesOfId.count ? bytesOfId[Int(id)] : []
    }

    /// Text of `ids`; invalid UTF-8 becomes U+FFFD (as `tokenizers`' lossy decode). Ids outside the
    /// vocabulary are skipped.
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool = false) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids where !(skipSpecialTokens && specialIds.contains(id)) {
            bytes.append(contentsOf: tokenBytes(id))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Text of one id on its own (lossy when it is part of a multi-byte character; use
    /// `TokenStreamDecoder` to stream).
    public func decodeToken(_ id: Int32) -> String {
        String(decoding: tokenBytes(id), as: UTF8.self)
    }
}

/// Turns generated ids into text as they come, holding back bytes of an unfinished UTF-8 character.
public struct TokenStreamDecoder: Sendable {
    private var pending: [UInt8] = []
    public let skipSpecialTokens: Bool

    public init(skipSpecialTokens: Bool = false) { self.skipSpecialTokens = skipSpecialTokens }

    /// The text completed by `id` (possibly empty).
    public mutating func push(_ id: Int32, _ tokenizer: BPETokenizer) -> String {
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
