extension SentencePieceTokenizer {
    /// Token ids of `text`. `addSpecialTokens` adds BOS/EOS when the tokenizer asks for them;
    /// `matchAddedTokens` false encodes `<start_of_turn>`, `\n` and the like through BPE, for untrusted input.
    public func encode(_ text: String, addSpecialTokens: Bool = true, matchAddedTokens: Bool = true) -> [Int32] {
        let scalarText = ScalarText(text)
        var output: [Int32] = []
        output.reserveCapacity(scalarText.count / 3 + 2)
        if addSpecialTokens, addBOS, let bos = bosTokenId { output.append(bos) }
        var state = EncodeState()
        let segments = matchAddedTokens ? matcher.segments(scalarText)
            : scalarText.count > 0 ? [(range: 0..<scalarText.count, id: Int32?.none)] : []
        for segment in segments {
            if let id = segment.id {
                output.append(id)
            } else {
                encodeWord(scalarText.scalars[segment.range], state: &state, into: &output)
            }
        }
        if addSpecialTokens, addEOS, let eos = eosTokenId { output.append(eos) }
        return output
    }

    /// What one `encode` call remembers across its words.
    struct EncodeState {
        /// `left << 32 | right` → `rank << 32 | merged id`, or `UInt64.max` when the pair does not merge.
        var pairs: [UInt64: UInt64] = [:]
        var words: [ArraySlice<UInt32>: [Int32]] = [:]
        var symbols: [Int32] = []
    }

    /// BPE of one stretch of text between added tokens (spaces become `▁`).
    func encodeWord(_ scalars: ArraySlice<UInt32>, state: inout EncodeState, into output: inout [Int32]) {
        if scalars.count <= 64, let known = state.words[scalars] {
            output.append(contentsOf: known)
            return
        }
        var symbols = state.symbols
        symbols.removeAll(keepingCapacity: true)
        for scalar in scalars {
            let value = scalar == 0x20 ? 0x2581 : scalar
            let known = value < 0x10000 ? idOfBMPScalar[Int(value)] : idOfAstralScalar[value] ?? -1
            if known >= 0 {
                symbols.append(known)
            } else if let unicode = Unicode.Scalar(value) {
                for byte in String(Character(unicode)).utf8 {
                    let id = idOfByte[Int(byte)]
                    if id >= 0 {
                        symbols.append(id)
                    } else if let unk = unknownTokenId, symbols.last != unk {
                        symbols.append(unk)  // fused, as `tokenizers`' fuse_unk
                    }
                }
            }
        }
        merge(&symbols, pairs: &state.pairs)
        if scalars.count <= 64 { state.words[scalars] = symbols }
        output.append(contentsOf: symbols)
        state.symbols = symbols
    }

    /// `rank << 32 | merged id` of the pair, or nil: the pieces joined must be a token; rank is the
    /// merged token's id, then the longer left piece first.
    @inline(__always)
    func lookup(_ a: Int32, _ b: Int32, _ pairs: inout [UInt64: UInt64]) -> UInt64? {
        let key = UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))
        if let cached = pairs[key] { return cached == UInt64.max ? nil : cached }
        guard let merged = ids[pieces[Int(a)] + pieces[Int(b)]] else {  // bytes: no canonical equivalence
            pairs[key] = UInt64.max
            return nil
        }
        let rank = UInt64(UInt32(merged)) << 8 | UInt64(255 - scalarLength[Int(a)])
        let entry = rank << 32 | UInt64(UInt32(merged))
        pairs[key] = entry
        return entry
    }

    /// Applies merges lowest rank first, leftmost first among equal ranks: a heap over a linked list.
    func merge(_ symbols: inout [Int32], pairs: inout [UInt64: UInt64]) {
        let n = symbols.count
        guard n > 1 else { return }
        var next = [Int32](unsafeUninitializedCapacity: n) { b, c in for i in 0..<n { b[i] = Int32(i + 1) }; c = n }
        var previous = [Int32](unsafeUninitializedCapacity: n) { b, c in for i in 0..<n { b[i] = Int32(i - 1) }; c = n }
        var alive = [Bool](repeating: true, count: n)
        var heap = MinHeap()
        func push(_ position: Int) {
            let after = Int(next[position])
            guard after < n, let entry = lookup(symbols[position], symbols[after], &pairs) else { return }
            heap.push((entry >> 32) << 32 | UInt64(position))
        }
        for position in 0..<(n - 1) { push(position) }
        while let top = heap.pop() {
            let rank = top >> 32
            let position = Int(top & 0xFFFF_FFFF)
            guard alive[position], Int(next[position]) < n,
                  let entry = lookup(symbols[position], symbols[Int(next[position])], &pairs), entry >> 32 == rank else { continue }
            let removed = Int(next[position])
            symbols[position] = Int32(truncatingIfNeeded: entry & 0xFFFF_FFFF)
            alive[removed] = false
            next[position] = next[removed]
            if Int(next[removed]) < n { previous[Int(next[removed])] = Int32(position) }
            push(position)
            if previous[position] >= 0 { push(Int(previous[position])) }
        }
        var merged: [Int32] = []
        merged.reserveCapacity(n)
        var position = 0
        while position < n {
            merged.append(symbols[position])
            position = Int(next[position])
        }
        symbols = merged
    }
}
