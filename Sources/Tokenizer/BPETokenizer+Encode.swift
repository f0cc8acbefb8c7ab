extension BPETokenizer {
    /// Token ids of `text`. Added tokens in the text are always matched; `addSpecialTokens` adds BOS/EOS
    /// when the tokenizer asks for them (Hugging Face's `add_special_tokens`).
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int32] {
        let scalarText = ScalarText(text)
        var output: [Int32] = []
        output.reserveCapacity(scalarText.bytes.count / 3 + 2)
        if addSpecialTokens, addBOS, let bos = bosTokenId { output.append(bos) }
        var words: [Range<Int>] = []
        var local: [ArraySlice<UInt8>: [Int32]] = [:]
        var symbols: [Int32] = []
        for segment in matcher.segments(scalarText) {
            if let id = segment.id {
                output.append(id)
                continue
            }
            words.removeAll(keepingCapacity: true)
            preTokenizer.split(scalarText, segment.range, into: &words)
            for word in words {
                let bytes = scalarText.bytes[Int(scalarText.byteOffsets[word.lowerBound])..<Int(scalarText.byteOffsets[word.upperBound])]
                if let known = local[bytes] {
                    output.append(contentsOf: known)
                    continue
                }
                let result: [Int32]
                if let cached = cache.get(bytes) {
                    result = cached
                } else {
                    symbols.removeAll(keepingCapacity: true)
                    if ignoreMerges, let whole = ids[ByteLevel.encode(bytes)] {
                        symbols.append(whole)
                    } else {
                        for byte in bytes where idOfByte[Int(byte)] >= 0 { symbols.append(idOfByte[Int(byte)]) }
                        merges.apply(&symbols)
                    }
                    result = symbols
                    cache.set(bytes, result)
                }
                local[bytes] = result
                output.append(contentsOf: result)
            }
        }
        if addSpecialTokens, addEOS, let eos = eosTokenId { output.append(eos) }
        return output
    }

    /// The words the pre-tokenizer cuts `text` into (after added tokens are taken out), for inspection.
    public func preTokenize(_ text: String) -> [String] {
        let scalarText = ScalarText(text)
        var words: [Range<Int>] = []
        for segment in matcher.segments(scalarText) where segment.id == nil {
            preTokenizer.split(scalarText, segment.range, into: &words)
        }
        return words.map { word in
            String(decoding: scalarText.bytes[Int(scalarText.byteOffsets[word.lowerBound])..<Int(scalarText.byteOffsets[word.upperBound])], as: UTF8.self)
        }
    }
}
