import Tensor

/// A KV cache destination for one block: keys and values of every position so far, `(S, KV·D)` each.
struct KVSlot {
    let k: UnsafeMutablePointer<Float>
    let v: UnsafeMutablePointer<Float>
}

extension TransformerModel {
    /// Largest per-block widths: (H·D, KV·D, F).
    var maxWidths: (hd: Int, kvd: Int, f: Int) {
        let d = config.headDim
        return (blocks.map { $0.heads * d }.max() ?? 0, blocks.map { $0.kvHeads * d }.max() ?? 0,
                blocks.map { $0.ffnWidth }.max() ?? 0)
    }

    /// `x (B·T, C)` = token embeddings (× Gemma's √C; + OPT positions `past + t + 2`).
    func embed(_ x: UnsafeMutablePointer<Float>, tokens: [Int], b: Int, t: Int, past: Int) {
        let c = config.hiddenSize
        tokenEmbedding.withUnsafeBufferPointer { e in
            for i in 0..<(b * t) { (x + i * c).update(from: e.baseAddress! + tokens[i] * c, count: c) }
        }
        if let scale = embeddingScale {
            for i in 0..<(b * t * c) { x[i] *= scale }
        }
        if let pos = positionEmbedding {
            pos.withUnsafeBufferPointer { pe in
                for i in 0..<(b * t) {
                    let row = pe.baseAddress! + (past + i % t + 2) * c, xr = x + i * c
                    for j in 0..<c { xr[j] += row[j] }
                }
            }
        }
    }

    /// One block over `x (B·T, C)` in place. `store` keeps the block input and mid residual for the
    /// backward (and, for Gemma, what its extra norms' backward needs). With `cache`, keys/values go to rows
    /// `past..<past+T` of the cache (then `B = 1`).
    func blockForward(_ x: UnsafeMutablePointer<Float>, _ a: BlockActivations, _ blk: TransformerBlock,
                      b: Int, t: Int, past: Int, cache: KVSlot?, store: Bool) {
        let n = b * t, c = config.hiddenSize, d = config.headDim
        let hd = blk.heads * d, kvd = blk.kvHeads * d
        if store { a.input.update(from: x, count: n * c) }
        let w = a.workers
        if blk.heads > 0 {
            blk.attentionNorm.forward(a.norm1, mean: a.mean1, rstd: a.rstd1, x, n: n, workers: w)
            let kDst = cache.map { $0.k + past * kvd } ?? a.k
            let vDst = cache.map { $0.v + past * kvd } ?? a.v
            // Gemma normalises each head's query and key; training keeps the inputs of those norms.
            let keepPre = store && blk.qNorm != nil
            blk.q.forward(keepPre ? a.qPre : a.q, a.norm1, n: n)
            blk.k.forward(keepPre ? a.kPre : kDst, a.norm1, n: n)
            blk.v.forward(vDst, a.norm1, n: n)
            if let qn = blk.qNorm { qn.forward(a.q, mean: nil, rstd: store ? a.qRstd : nil, keepPre ? a.qPre : a.q, n: n * blk.heads, workers: w) }
            if let kn = blk.kNorm { kn.forward(kDst, mean: nil, rstd: store ? a.kRstd : nil, keepPre ? a.kPre : kDst, n: n * blk.kvHeads, workers: w) }
            if config.architecture.isLlamaLike {
                withRoPE(blk) { cs, sn in
                    for s in 0..<b {
                        BLASParallel.ranges(count: t, workers: w, minimum: 32) { r in
                            ropeApply(a.q + (s * t + r.lowerBound) * hd, cos: cs, sin: sn, t: r.count,
                                      heads: blk.heads, headDim: d, pos0: past + r.lowerBound)
                            ropeApply(kDst + (s * t + r.lowerBound) * kvd, cos: cs, sin: sn, t: r.count,
                                      heads: blk.kvHeads, headDim: d, pos0: past + r.lowerBound)
                        }
                    }
                }
            }
            let kAll = cache?.k ?? a.k, vAll = cache?.v ?? a.v
            for s in 0..<b {
                attentionForward(a.atty + s * t * hd, a.probs, a.q + s * t * hd,
                                 kAll + s * t * kvd, vAll + s * t * kvd, kvHeadOf: blk.kvHeadOf,
                                 t: t, past: past, kvHeads: blk.kvHeads, headDim: d, window: blk.window,
                                 scale: config.attentionScale, workers: w)
            }
            blk.o.forward(a.proj, a.atty, n: n)
            if let pn = blk.postAttentionNorm {
                if store { a.attnOut.update(from: a.proj, count: n * c) }
                pn.forward(a.proj, mean: nil, rstd: store ? a.attnRstd : nil, a.proj, n: n, workers: w)
            }
            addInPlace(x, a.proj, count: n * c, workers: w)
        }
        if store { a.mid.update(from: x, count: n * c) }
        if blk.ffnWidth > 0 {
            blk.ffnNorm.forward(a.norm2, mean: a.mean2, rstd: a.rstd2, x, n: n, workers: w)
            if blk.isGated {
                blk.gate.forward(a.gate, a.norm2, n: n)
                blk.up.forward(a.up, a.norm2, n: n)
                gatedActivation(blk.activation, a.hidden, a.gate, a.up, rows: n, width: blk.ffnWidth, workers: w)
            } else {
                blk.up.forward(a.hidden, a.norm2, n: n)
                reluForward(a.hidden, count: n * blk.ffnWidth)
            }
            blk.down.forward(a.proj, a.hidden, n: n)
            if let pn = blk.postFFNNorm {
                if store { a.ffnOut.update(from: a.proj, count: n * c) }
                pn.forward(a.proj, mean: nil, rstd: store ? a.ffnRstd : nil, a.proj, n: n, workers: w)
            }
            addInPlace(x, a.proj, count: n * c, workers: w)
        }
    }

    /// LM head and cross-entropy over `xn (N, C)` in chunks of `chunk` rows, so `N × V` logits never
    /// exist at once. Writes `logProbs (N)` of `targets` (rows with target −1 get 0). With `dxn`, also
    /// writes `dxn (N, C)`, the gradient of `gradScale · Σ −logProb` wrt `xn`.
    func headForward(_ logProbs: UnsafeMutablePointer<Float>, dxn: UnsafeMutablePointer<Float>?,
                     _ xn: UnsafePointer<Float>, targets: [Int], n: Int, gradScale: Float, chunk: Int = 256, workers: Int = 1,
                     onLogits: ((_ row0: Int, _ rows: Int, _ logits: UnsafePointer<Float>) -> Void)?) {
        let c = config.hiddenSize, vocab = config.vocabSize
        let buf = FloatBuffer(min(chunk, n) * vocab)
        withLMHead { head in
            targets.withUnsafeBufferPointer { tg in
                var i0 = 0
                while i0 < n {
                    let rows = min(chunk, n - i0)
                    sgemm(transB: true, m: rows, n: vocab, k: c, xn + i0 * c, lda: c, head, ldb: c, buf.p, ldc: vocab)
                    onLogits?(i0, rows, buf.p)
                    BLASParallel.ranges(count: rows, workers: workers, minimum: 16) { r in
                        crossEntropyRows(logProbs + i0 + r.lowerBound, buf.p + r.lowerBound * vocab,
                                         targets: tg.baseAddress! + i0 + r.lowerBound, n: r.count, vocab: vocab,
                                         grad: dxn != nil, gradScale: gradScale)
                    }
                    if let dxn {
                        sgemm(m: rows, n: c, k: vocab, buf.p, lda: vocab, head, ldb: c, dxn + i0 * c, ldc: c)
                    }
                    i0 += rows
                }
            }
        }
    }

    func validate(tokens: [Int], batch: Int) throws -> Int {
        guard batch > 0, !tokens.isEmpty, tokens.count % batch == 0 else {
            throw ModelError.badInput("\(tokens.count) tokens do not split into \(batch) sequences")
        }
        let t = tokens.count / batch
        guard t <= config.maxPositions else {
            throw ModelError.badInput("sequence of \(t) tokens exceeds the model's \(config.maxPositions) positions")
        }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw ModelError.badInput("token id \(bad) outside the vocabulary of \(config.vocabSize)")
        }
        return t
    }

    /// Next-token targets of `B` sequences of `T`: row `b·T + t` predicts `tokens[b·T + t + 1]`, the last
    /// row of each sequence has none (−1).
    static func shiftedTargets(_ tokens: [Int], b: Int, t: Int) -> [Int] {
        (0..<(b * t)).map { $0 % t == t - 1 ? -1 : tokens[$0 + 1] }
    }

    /// Causal forward of `batch` sequences of `T` tokens (`tokens` is `(B, T)` row-major).
    ///
    /// Returns the log-probability of every true next token and each sequence's mean cross-entropy over its
    /// `T − 1` predictions. `onLogits` sees the raw logits `(rows, V)` of rows `row0..<row0+rows` chunk by chunk.
    public func forward(tokens: [Int], batch: Int = 1,
                        onLogits: ((_ row0: Int, _ rows: Int, _ logits: UnsafePointer<Float>) -> Void)? = nil) throws -> ForwardResult {
        let t = try validate(tokens: tokens, batch: batch)
        let n = batch * t, c = config.hiddenSize
        let w = maxWidths
        let acts = BlockActivations(n: n, t: t, keys: t, c: c, d: config.headDim, hd: w.hd, kvd: w.kvd, f: w.f, gated: config.architecture.isLlamaLike)
        let x = FloatBuffer(n * c)
        embed(x.p, tokens: tokens, b: batch, t: t, past: 0)
        for blk in blocks { blockForward(x.p, acts, blk, b: batch, t: t, past: 0, cache: nil, store: false) }
        finalNorm.forward(acts.norm1, mean: nil, rstd: nil, x.p, n: n, workers: acts.workers)
        var lp = [Float](repeating: 0, count: n)
        lp.withUnsafeMutableBufferPointer { lpp in
            headForward(lpp.baseAddress!, dxn: nil, acts.norm1, targets: Self.shiftedTargets(tokens, b: batch, t: t),
                        n: n, gradScale: 0, workers: acts.workers, onLogits: onLogits)
        }
        return ForwardResult(rowLogProbs: lp, batch: batch, t: t)
    }
}

/// `act(gate) ⊙ up` (SwiGLU or GeGLU) of `rows` rows of `width`, rows split over `workers` threads when
/// there are enough of them.
func gatedActivation(_ kind: GatedActivation, _ out: UnsafeMutablePointer<Float>, _ gate: UnsafePointer<Float>,
                     _ up: UnsafePointer<Float>, rows: Int, width f: Int, workers: Int) {
    BLASParallel.ranges(count: rows, workers: workers, minimum: 32) { r in
        let o = r.lowerBound * f
        switch kind {
        case .silu: swigluForward(out + o, gate + o, up + o, count: r.count * f)
        case .geluTanh: gegluTanhForward(out + o, gate + o, up + o, count: r.count * f)
        }
    }
}

/// `x (count) += y`, split over `workers` threads when long enough.
@inlinable
func addInPlace(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int, workers: Int = 1) {
    BLASParallel.ranges(count: count, workers: workers, minimum: 1 << 14) { r in
        for i in r { x[i] += y[i] }
    }
}

/// What a forward pass returns.
public struct ForwardResult: Sendable {
    /// `(B, T−1)` log-probability of each true next token.
    public var targetLogProbs: [Float]
    /// `(B)` mean cross-entropy over each sequence's `T − 1` predictions.
    public var losses: [Float]

    init(rowLogProbs lp: [Float], batch: Int, t: Int) {
        var tl: [Float] = []; tl.reserveCapacity(batch * max(0, t - 1))
        var losses: [Float] = []
        for b in 0..<batch {
            var s: Double = 0
            for i in 0..<(t - 1) { tl.append(lp[b * t + i]); s += Double(lp[b * t + i]) }
            losses.append(t > 1 ? Float(-s / Double(t - 1)) : 0)
        }
        targetLogProbs = tl; self.losses = losses
    }
}
