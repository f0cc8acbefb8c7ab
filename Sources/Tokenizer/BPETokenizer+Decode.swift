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
