import Checkpoint
import Model

extension Compaction {
    /// What making a compact model representable in files cost.
    public struct LayoutCost: Codable, Sendable, Equatable {
        /// K/V heads added by duplication (each costs 2·D·C parameters).
        public var duplicatedKVHeads: Int
        /// Zero FFN neurons added so that every FFN width is a positive multiple of `ffnMultiple`
        /// (llama.cpp needs n_ff > 0, and ran odd widths far slower: docs/compaction.md).
        public var paddedNeurons: Int
        /// Extra parameters from both.
        public var extraParameters: Int
    }

    /// The same function with every block's heads in equal contiguous groups: query head h reads KV head
    /// `h / (heads/kvHeads)`, as llama.cpp and config.json lists assume. Heads are re-ordered by KV head;
    /// where the surviving group sizes differ, each KV head is duplicated `size/g` times (g = gcd of the
    /// sizes), so a group of `size` heads becomes `size/g` groups of g. With `ffnMultiple > 0`, every gated
    /// FFN gets all-zero neurons up to the next positive multiple of it (their output is exactly 0: a zero
    /// gate row gives SiLU(0) = 0, and the zero down column adds nothing).
    public static func contiguousGroups(_ model: TransformerModel, ffnMultiple: Int = 0) -> (model: TransformerModel, cost: LayoutCost) {
        var out = model
        let d = model.headDim, c = model.hiddenSize
        var cost = LayoutCost(duplicatedKVHeads: 0, paddedNeurons: 0, extraParameters: 0)
        for (l, blk) in model.blocks.enumerated() {
            var ls = blk.linears
            var heads = blk.heads, kvHeads = blk.kvHeads, kvOf = blk.kvHeadOf, ffn = blk.ffnWidth
            if heads > 0, !isContiguousEqual(kvOf, kvHeads: kvHeads) {
                let order = (0..<heads).sorted { (kvOf[$0], $0) < (kvOf[$1], $1) }
                var groups: [(kv: Int, size: Int)] = []
                for h in order {
                    if groups.last?.kv == kvOf[h] { groups[groups.count - 1].size += 1 } else { groups.append((kvOf[h], 1)) }
                }
                let g = groups.map(\.size).reduce(0, gcd)
                let newKV = groups.flatMap { Array(repeating: $0.kv, count: $0.size / g) }
                let qRows = order.flatMap { h in (h * d)..<((h + 1) * d) }
                let kvRows = newKV.flatMap { k in (k * d)..<((k + 1) * d) }
                ls[0] = keepRows(ls[0], qRows)
                ls[1] = keepRows(ls[1], kvRows)
                ls[2] = keepRows(ls[2], kvRows)
                ls[3] = keepCols(ls[3], qRows)
                cost.duplicatedKVHeads += max(0, newKV.count - kvHeads)
                cost.extraParameters += max(0, newKV.count - kvHeads) * 2 * d * c
                kvHeads = newKV.count
                kvOf = (0..<heads).map { $0 / g }
            }
            if ffnMultiple > 0, blk.isGated, ffn % ffnMultiple != 0 || ffn == 0 {
                let width = ffn == 0 ? ffnMultiple : (ffn + ffnMultiple - 1) / ffnMultiple * ffnMultiple, p = width - ffn
                ls[4] = padRows(ls[4], to: width)
                ls[5] = padRows(ls[5], to: width)
                ls[6] = padCols(ls[6], to: width)
                cost.paddedNeurons += p
                cost.extraParameters += 3 * p * c
                ffn = width
            }
            heads = ls[0].rows / d
            out.blocks[l] = blk.resized(linears: ls, heads: heads, kvHeads: kvHeads, kvHeadOf: kvOf, ffnWidth: ffn)
        }
        return (out, cost)
    }

    /// `l` with zero rows appended up to `rows` (bias entries 0 too).
    static func padRows(_ l: Linear, to rows: Int) -> Linear {
        let extra = rows - l.rows
        return Linear(name: l.name, role: l.role, rows: rows, cols: l.cols,
                      weight: l.weight + [Float](repeating: 0, count: extra * l.cols),
                      bias: l.bias.map { $0 + [Float](repeating: 0, count: extra) })
    }

    /// `l` with zero columns appended up to `cols`.
    static func padCols(_ l: Linear, to cols: Int) -> Linear {
        var w = [Float](repeating: 0, count: l.rows * cols)
        for r in 0..<l.rows { for j in 0..<l.cols { w[r * cols + j] = l.weight[r * l.cols + j] } }
        return Linear(name: l.name, role: l.role, rows: l.rows, cols: cols, weight: w, bias: l.bias)
    }

    /// `true` when `kvOf[h] == h / (H / kvHeads)` for every head.
    static func isContiguousEqual(_ kvOf: [Int], kvHeads: Int) -> Bool {
        let h = kvOf.count
        guard kvHeads > 0, h % kvHeads == 0 else { return false }
        return kvOf.enumerated().allSatisfy { $0.element == $0.offset / (h / kvHeads) }
    }

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    /// A compact GGUF must load in llama.cpp: its Llama-family models with per-layer widths are written as
    /// `deci`, which reads them, but its `gemma3` graph sizes every layer from one FFN width and head count.
    public static func checkGGUFWidths(_ model: TransformerModel) throws {
        guard model.config.architecture.isGemma else { return }
        let f = Set(model.blocks.map(\.ffnWidth)), h = Set(model.blocks.map(\.heads)), kv = Set(model.blocks.map(\.kvHeads))
        guard f.count > 1 || h.count > 1 || kv.count > 1 else { return }
        throw Failure.notUniform("llama.cpp's gemma3 architecture gives every layer one FFN width and one head count, and this compact Gemma model has FFN widths \(f.sorted()), query heads \(h.sorted()), KV heads \(kv.sorted()) across layers, so its GGUF would not load there. Possible: prune with --uniform (equal widths load in llama.cpp), --format hf --compact --uniform, or --format gguf without --compact (dense with zeros).")
    }

    /// The checkpoint of a model whose blocks already have contiguous groups. With `uniform`, every layer
    /// must have the same widths and the config is a standard one (no per-layer lists); otherwise throws
    /// `.notUniform` naming the widths found.
    public static func checkpoint(_ model: TransformerModel, tokenizer: TokenizerData?, source: String,
                                  uniform: Bool) throws -> LoadedCheckpoint {
        var ck = model.checkpoint(tokenizer: tokenizer, source: source)
        guard uniform else { return ck }
        let f = Set(model.blocks.map(\.ffnWidth)), h = Set(model.blocks.map(\.heads)), kv = Set(model.blocks.map(\.kvHeads))
        guard f.count == 1, h.count == 1, kv.count == 1, let f0 = f.first, let h0 = h.first, let kv0 = kv.first, f0 > 0, h0 > 0 else {
            throw Failure.notUniform("the compact widths differ across layers (FFN widths \(f.sorted()), query heads \(h.sorted()), KV heads \(kv.sorted())), so a standard config.json cannot describe them. Possible: --format gguf --compact (per-layer widths), --format hf without --compact (dense with zeros), or prune again with --uniform.")
        }
        ck.config.intermediateSize = f0; ck.config.numHeads = h0; ck.config.numKVHeads = kv0
        ck.config.ffnWidths = nil; ck.config.headCounts = nil; ck.config.kvHeadCounts = nil
        return ck
    }
}
