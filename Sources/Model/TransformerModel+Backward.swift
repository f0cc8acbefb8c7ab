import Tensor

/// Receives, for one prunable Linear of one sequence, its input activations `(T, cols)` and the
/// gradient of the loss wrt its output `(T, rows)` (bias not appended). The buffers are valid only
/// during the call. The weight gradient, if wanted, is `gradOutputᵀ · input`.
public typealias LinearVisitor = (_ id: LinearID, _ input: UnsafeBufferPointer<Float>,
                                  _ gradOutput: UnsafeBufferPointer<Float>) -> Void

extension TransformerModel {
    /// Forward and backward of one sequence's mean cross-entropy over its `T − 1` shifted predictions
    /// with the true next tokens. Calls `visit` for every prunable Linear, blocks last to first
    /// (within a block: down, gate, up, o, q, k, v), and returns the loss.
    ///
    /// Memory: each block keeps its input, mid residual, q, k, v, attention output and (SwiGLU) gate/up
    /// (SmolLM2: about 1 MB per token over all 30 blocks, ~0.5 GB at T = 512) until its backward;
    /// norm outputs, SwiGLU hidden and attention probabilities are recomputed, so nothing of size `L·H·T²` exists.
    @discardableResult
    public func gradients(tokens: [Int], visit: LinearVisitor) throws -> Float {
        let t = try validate(tokens: tokens, batch: 1)
        guard t >= 2 else { throw ModelError.badInput("a sequence needs at least 2 tokens for a loss, got \(t)") }
        let c = config.hiddenSize, d = config.headDim
        let x = FloatBuffer(t * c)
        embed(x.p, tokens: tokens, b: 1, t: t, past: 0)
        var acts: [BlockActivations?] = []
        // softmax, projection, norm-output and SwiGLU-hidden scratch, shared by every block
        let sharedScratch = BlockActivations(n: t, t: t, keys: t, c: c, d: config.headDim, hd: maxWidths.hd, kvd: 0, f: maxWidths.f, gated: false)
        for blk in blocks {
            let a = BlockActivations(n: t, t: t, keys: t, c: c, d: config.headDim, hd: blk.heads * d, kvd: blk.kvHeads * d,
                                     f: blk.ffnWidth, gated: blk.isGated, norms: config.architecture.isGemma, scratchFrom: sharedScratch)
            blockForward(x.p, a, blk, b: 1, t: t, past: 0, cache: nil, store: true)
            acts.append(a)
        }
        // Final norm and LM head: dxn (T, C) = ∂loss/∂(final norm output).
        let xn = FloatBuffer(t * c), dxn = FloatBuffer(t * c), mean = FloatBuffer(t), rstd = FloatBuffer(t)
        finalNorm.forward(xn.p, mean: mean.p, rstd: rstd.p, x.p, n: t, workers: sharedScratch.workers)
        let lp = FloatBuffer(t)
        headForward(lp.p, dxn: dxn.p, xn.p, targets: Self.shiftedTargets(tokens, b: 1, t: t), n: t,
                    gradScale: 1 / Float(t - 1), workers: sharedScratch.workers, onLogits: nil)
        var loss: Double = 0
        for i in 0..<(t - 1) { loss -= Double(lp.p[i]) }
        // dx (T, C) = ∂loss/∂(residual stream), walked back block by block.
        let dx = FloatBuffer(t * c)
        finalNorm.backward(dx.p, dxn.p, x.p, mean: mean.p, rstd: rstd.p, n: t)
        let w = maxWidths
        let s = BackwardScratch(t: t, c: c, hd: w.hd, kvd: w.kvd, f: w.f, norms: config.architecture.isGemma)
        for l in blocks.indices.reversed() {
            blockBackward(dx.p, acts[l]!, blocks[l], layer: l, t: t, scratch: s, visit: visit)
            acts[l] = nil
        }
        return Float(loss / Double(t - 1))
    }

    /// Backward of one block: `dx (T, C)` enters as ∂loss/∂(block output) and leaves as ∂loss/∂(block input).
    func blockBackward(_ dx: UnsafeMutablePointer<Float>, _ a: BlockActivations, _ blk: TransformerBlock,
                       layer: Int, t: Int, scratch s: BackwardScratch, visit: LinearVisitor) {
        let n = t, c = config.hiddenSize, d = config.headDim, f = blk.ffnWidth
        func call(_ lin: Linear, _ inp: UnsafePointer<Float>, _ g: UnsafePointer<Float>) {
            visit(LinearID(layer: layer, index: blk.index(of: lin.role)!),
                  UnsafeBufferPointer(start: inp, count: n * lin.cols), UnsafeBufferPointer(start: g, count: n * lin.rows))
        }
        if f > 0 {
            // recompute what the blocks share: the FFN-norm output and the gated hidden
            blk.ffnNorm.forward(a.norm2, mean: nil, rstd: nil, a.mid, n: n, workers: a.workers)
            if blk.isGated { gatedActivation(blk.activation, a.hidden, a.gate, a.up, rows: n, width: f, workers: a.workers) }
            // g = ∂loss/∂(down output): dx itself, or through Gemma's post-FFN norm
            var g = UnsafePointer(dx)
            if let pn = blk.postFFNNorm {
                s.dpost.update(repeating: 0, count: n * c)
                pn.backward(s.dpost, dx, a.ffnOut, mean: a.ffnRstd, rstd: a.ffnRstd, n: n)
                g = UnsafePointer(s.dpost)
            }
            call(blk.down, a.hidden, g)
            blk.down.backwardInput(s.dh, g, n: n, accumulate: false)
            if blk.isGated {
                switch blk.activation {
                case .silu: swigluBackward(s.dgate, s.dup, s.dh, a.gate, a.up, count: n * f)
                case .geluTanh: gegluTanhBackward(s.dgate, s.dup, s.dh, a.gate, a.up, count: n * f)
                }
                call(blk.gate, a.norm2, s.dgate)
                call(blk.up, a.norm2, s.dup)
                blk.gate.backwardInput(s.dnorm, s.dgate, n: n, accumulate: false)
                blk.up.backwardInput(s.dnorm, s.dup, n: n, accumulate: true)
            } else {
                reluBackward(s.dh, a.hidden, count: n * f)
                call(blk.up, a.norm2, s.dh)
                blk.up.backwardInput(s.dnorm, s.dh, n: n, accumulate: false)
            }
            blk.ffnNorm.backward(dx, s.dnorm, a.mid, mean: a.mean2, rstd: a.rstd2, n: n)
        }
        if blk.heads > 0 {
            blk.attentionNorm.forward(a.norm1, mean: nil, rstd: nil, a.input, n: n, workers: a.workers)
            var g = UnsafePointer(dx)
            if let pn = blk.postAttentionNorm {
                s.dpost.update(repeating: 0, count: n * c)
                pn.backward(s.dpost, dx, a.attnOut, mean: a.attnRstd, rstd: a.attnRstd, n: n)
                g = UnsafePointer(s.dpost)
            }
            call(blk.o, a.atty, g)
            blk.o.backwardInput(s.datty, g, n: n, accumulate: false)
            attentionBackward(s.dq, s.dk, s.dv, s.att, s.datty, a.q, a.k, a.v, kvHeadOf: blk.kvHeadOf,
                              t: t, kvHeads: blk.kvHeads, headDim: d, window: blk.window, scale: config.attentionScale,
                              workers: s.workers)
            if config.architecture.isLlamaLike {
                withRoPE(blk) { cs, sn in
                    ropeApply(s.dq, cos: cs, sin: sn, t: t, heads: blk.heads, headDim: d, pos0: 0, inverse: true)
                    ropeApply(s.dk, cos: cs, sin: sn, t: t, heads: blk.kvHeads, headDim: d, pos0: 0, inverse: true)
                }
            }
            // gq, gk = ∂loss/∂(q, k output): through Gemma's per-head norms when present
            var gq = UnsafePointer(s.dq), gk = UnsafePointer(s.dk)
            if let qn = blk.qNorm, let kn = blk.kNorm {
                s.dqPre.update(repeating: 0, count: n * blk.heads * d)
                s.dkPre.update(repeating: 0, count: n * blk.kvHeads * d)
                qn.backward(s.dqPre, s.dq, a.qPre, mean: a.qRstd, rstd: a.qRstd, n: n * blk.heads)
                kn.backward(s.dkPre, s.dk, a.kPre, mean: a.kRstd, rstd: a.kRstd, n: n * blk.kvHeads)
                gq = UnsafePointer(s.dqPre); gk = UnsafePointer(s.dkPre)
            }
            call(blk.q, a.norm1, gq)
            call(blk.k, a.norm1, gk)
            call(blk.v, a.norm1, s.dv)
            blk.q.backwardInput(s.dnorm, gq, n: n, accumulate: false)
            blk.k.backwardInput(s.dnorm, gk, n: n, accumulate: true)
            blk.v.backwardInput(s.dnorm, s.dv, n: n, accumulate: true)
            blk.attentionNorm.backward(dx, s.dnorm, a.input, mean: a.mean1, rstd: a.rstd1, n: n)
        }
    }
}
