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
        var pairs = PairTable()
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
    func lookup(_ a: Int32, _ b: Int32, _ pairs: inout PairTable) -> UInt64? {
        let key = UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))
        if let cached = pairs.get(key) { return cached == UInt64.max ? nil : cached }
        guard let merged = ids[pieces[Int(a)] + pieces[Int(b)]] else {  // bytes: no canonical equivalence
            pairs.set(key, UInt64.max)
            return nil
        }
        let rank = UInt64(UInt32(merged)) << 8 | UInt64(255 - scalarLength[Int(a)])
        let entry = rank << 32 | UInt64(UInt32(merged))
        pairs.set(key, entry)
        return entry
    }

    /// Applies merges lowest rank first, leftmost first among equal ranks: a heap over a linked list.
    /// `rankAt[p]` is the rank of the pair starting at `p` now, so a stale heap entry is told without a lookup.
    func merge(_ symbols: inout [Int32], pairs: inout PairTable) {
        let n = symbols.count
        guard n > 1 else { return }
        var next = [Int32](unsafeUninitializedCapacity: n) { b, c in for i in 0..<n { b[i] = Int32(i + 1) }; c = n }
        var previous = [Int32](unsafeUninitializedCapacity: n) { b, c in for i in 0..<n { b[i] = Int32(i - 1) }; c = n }
        var rankAt = [UInt32](repeating: UInt32.max, count: n)
        var heap = MinHeap()
        func push(_ position: Int) {
            let after = Int(next[position])
            guard after < n, let entry = lookup(symbols[position], symbols[after], &pairs) else {
                rankAt[position] = UInt32.max
                return
            }
            rankAt[position] = UInt32(truncatingIfNeeded: entry >> 32)
            heap.push((entry >> 32) << 32 | UInt64(position))
        }
        for position in 0..<(n - 1) { push(position) }
        while let top = heap.pop() {
            let rank = UInt32(truncatingIfNeeded: top >> 32)
            let position = Int(top & 0xFFFF_FFFF)
            guard rankAt[position] == rank else { continue }  // stale (or merged away: UInt32.max)
            let removed = Int(next[position])
            symbols[position] = Int32(rank >> 8)  // the rank's high bits are the merged id
            rankAt[removed] = UInt32.max
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

/// An open-addressing hash table `UInt64 → UInt64` (keys never `UInt64.max`), cheaper than `Dictionary`'s
/// seeded hashing for the pair cache.
struct PairTable {
    private var keys = [UInt64](repeating: UInt64.max, count: 1 << 12)
    private var values = [UInt64](repeating: 0, count: 1 << 12)
    private var count = 0

    @inline(__always)
    private func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    @inline(__always)
    func get(_ key: UInt64) -> UInt64? {
        let mask = keys.count - 1
        var i = slot(key, mask)
        while true {
            let k = keys[i]
            if k == key { return values[i] }
            if k == UInt64.max { return nil }
            i = (i + 1) & mask
        }
    }

    mutating func set(_ key: UInt64, _ value: UInt64) {
        if (count + 1) * 2 > keys.count { grow() }
        let mask = keys.count - 1
        var i = slot(key, mask)
        while keys[i] != UInt64.max && keys[i] != key { i = (i + 1) & mask }
        if keys[i] == UInt64.max { count += 1 }
        keys[i] = key
        values[i] = value
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        keys = [UInt64](repeating: UInt64.max, count: oldKeys.count * 2)
        values = [UInt64](repeating: 0, count: oldKeys.count * 2)
        count = 0
        for (k, v) in zip(oldKeys, oldValues) where k != UInt64.max { set(k, v) }
    }
}
