extension SentencePieceTokenizer {
    /// The bytes an id stands for: `▁` as a space, a `<0xNN>` token as its byte, added tokens as
    /// written; empty outside the vocabulary.
    public func tokenBytes(_ id: Int32) -> [UInt8] {
        guard id >= 0 && Int(id) < tokens.count else { return [] }
        let byte = byteOfId[Int(id)]
        if byte >= 0 { return [UInt8(byte)] }
        var bytes: [UInt8] = []
        var utf8 = Array(tokens[Int(id)].utf8)[...]
        bytes.reserveCapacity(utf8.count)
        while let first = utf8.first {
            if first == 0xE2, utf8.count >= 3, utf8[utf8.startIndex + 1] == 0x96, utf8[utf8.startIndex + 2] == 0x81 {
                bytes.append(0x20)  // U+2581
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(first)
                utf8 = utf8.dropFirst()
            }
        }
        return bytes
    }

    /// Text of `ids`; invalid UTF-8 (from byte tokens) becomes U+FFFD. Ids outside the vocabulary are skipped.
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool = false) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids where !(skipSpecialTokens && specialIds.contains(id)) {
            bytes.append(contentsOf: tokenBytes(id))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Text of one id on its own (lossy for a byte token; use `TokenStreamDecoder` to stream).
    public func decodeToken(_ id: Int32) -> String {
        String(decoding: tokenBytes(id), as: UTF8.self)
    }
}
