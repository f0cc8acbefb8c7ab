import Tensor

/// The activations of one block for `N = B·T` token rows, carved out of one allocation. The forward
/// stores exactly what the backward needs; inference reuses one instance for every block.
final class BlockActivations {
    let input: UnsafeMutablePointer<Float>   // (N, C) block input (residual stream), training only
    private(set) var norm1: UnsafeMutablePointer<Float>   // (N, C) attention-norm output (input of q, k, v)
    let mean1: UnsafeMutablePointer<Float>   // (N) LayerNorm mean
    let rstd1: UnsafeMutablePointer<Float>   // (N)
    let q: UnsafeMutablePointer<Float>       // (N, H·D) queries after RoPE
    let k: UnsafeMutablePointer<Float>       // (N, KV·D) keys after RoPE (unless written to a KV cache)
    let v: UnsafeMutablePointer<Float>       // (N, KV·D) values
    let atty: UnsafeMutablePointer<Float>    // (N, H·D) attention output (input of o)
    let mid: UnsafeMutablePointer<Float>     // (N, C) residual stream after attention, training only
    private(set) var norm2: UnsafeMutablePointer<Float>   // (N, C) FFN-norm output (input of gate, up)
    let mean2: UnsafeMutablePointer<Float>   // (N)
    let rstd2: UnsafeMutablePointer<Float>   // (N)
    let gate: UnsafeMutablePointer<Float>    // (N, F) gate output (SwiGLU)
    let up: UnsafeMutablePointer<Float>      // (N, F) up output (SwiGLU)
    private(set) var hidden: UnsafeMutablePointer<Float>  // (N, F) FFN hidden (input of down)
    private(set) var probs: UnsafeMutablePointer<Float>   // attention scratch for `workers` threads, S = keys per query row
    private(set) var proj: UnsafeMutablePointer<Float>    // (N, C) scratch: o / down output
    // Gemma, training only (`norms`; otherwise empty): what its extra norms' backward needs.
    let qPre: UnsafeMutablePointer<Float>    // (N, H·D) queries before the q norm
    let kPre: UnsafeMutablePointer<Float>    // (N, KV·D) keys before the k norm
    let qRstd: UnsafeMutablePointer<Float>   // (N·H)
    let kRstd: UnsafeMutablePointer<Float>   // (N·KV)
    let attnOut: UnsafeMutablePointer<Float> // (N, C) o output before the post-attention norm
    let attnRstd: UnsafeMutablePointer<Float> // (N)
    let ffnOut: UnsafeMutablePointer<Float>  // (N, C) down output before the post-FFN norm
    let ffnRstd: UnsafeMutablePointer<Float> // (N)
    /// Threads the attention and the element-wise work run on (the attention scratch is sized for them):
    /// BLAS's threads, or 1 for a few rows.
    private(set) var workers: Int
    private let base: UnsafeMutablePointer<Float>

    /// `scratchFrom`: borrow `probs`, `proj`, `norm1`, `norm2` and (SwiGLU) `hidden` from another
    /// instance. Training keeps one set of activations per block; these are scratch or cheap to
    /// recompute in the backward (norms from `input`/`mid`, SwiGLU from `gate`/`up`), so all blocks
    /// share one copy. `other` must be at least as large.
    /// `norms`: keep what the backward of Gemma's q/k norms and post-norms needs.
    init(n: Int, t: Int, keys s: Int, c: Int, d: Int, hd: Int, kvd: Int, f: Int, gated: Bool, norms: Bool = false,
         scratchFrom other: BlockActivations? = nil) {
        let own = other == nil
        workers = other?.workers ?? (t >= 32 ? blasThreads() : 1)
        let e = norms ? 1 : 0
        let sizes = [n * c, own ? n * c : 0, n, n, n * hd, n * kvd, n * kvd, n * hd, n * c, own ? n * c : 0, n, n,
                     gated ? n * f : 0, gated ? n * f : 0, own || !gated ? n * f : 0, own ? attentionScratchCount(t: t, keys: s, heads: hd / max(1, d), headDim: d, workers: workers) : 0, own ? n * c : 0,
                     e * n * hd, e * n * kvd, e * n * hd / max(1, d), e * n * kvd / max(1, d), e * n * c, e * n, e * n * c, e * n]
        base = .allocate(capacity: max(1, sizes.reduce(0, +)))
        var p = base
        func take(_ i: Int) -> UnsafeMutablePointer<Float> { defer { p += sizes[i] }; return p }
        input = take(0); norm1 = take(1); mean1 = take(2); rstd1 = take(3); q = take(4); k = take(5); v = take(6)
        atty = take(7); mid = take(8); norm2 = take(9); mean2 = take(10); rstd2 = take(11)
        gate = take(12); up = take(13); hidden = take(14); probs = take(15); proj = take(16)
        qPre = take(17); kPre = take(18); qRstd = take(19); kRstd = take(20)
        attnOut = take(21); attnRstd = take(22); ffnOut = take(23); ffnRstd = take(24)
        if let other {
            probs = other.probs; proj = other.proj; norm1 = other.norm1; norm2 = other.norm2
            if gated { hidden = other.hidden }
            keepAlive = other
        }
    }
    private var keepAlive: BlockActivations?

    deinit { base.deallocate() }
}

/// Scratch for the backward of one block (`T` rows, widths the largest over blocks).
final class BackwardScratch {
    let dh: UnsafeMutablePointer<Float>      // (T, F) grad wrt FFN hidden
    let dgate: UnsafeMutablePointer<Float>   // (T, F)
    let dup: UnsafeMutablePointer<Float>     // (T, F)
    let dnorm: UnsafeMutablePointer<Float>   // (T, C) grad wrt a norm output
    let datty: UnsafeMutablePointer<Float>   // (T, H·D)
    let dq: UnsafeMutablePointer<Float>      // (T, H·D)
    let dk: UnsafeMutablePointer<Float>      // (T, KV·D)
    let dv: UnsafeMutablePointer<Float>      // (T, KV·D)
    let att: UnsafeMutablePointer<Float>     // attention backward scratch for `workers` threads
    // Gemma (`norms`; otherwise empty): gradients wrt a post-norm's input and the pre-norm queries/keys.
    let dpost: UnsafeMutablePointer<Float>   // (T, C)
    let dqPre: UnsafeMutablePointer<Float>   // (T, H·D)
    let dkPre: UnsafeMutablePointer<Float>   // (T, KV·D)
    /// Threads the attention backward runs on (its scratch is sized for them), as `BlockActivations.workers`.
    let workers: Int
    private let base: UnsafeMutablePointer<Float>

    init(t: Int, c: Int, hd: Int, kvd: Int, f: Int, norms: Bool = false) {
        workers = t >= 32 ? blasThreads() : 1
        let e = norms ? 1 : 0
        let sizes = [t * f, t * f, t * f, t * c, t * hd, t * hd, t * kvd, t * kvd,
                     attentionBackwardScratchCount(t: t, kvd: kvd, workers: workers), e * t * c, e * t * hd, e * t * kvd]
        base = .allocate(capacity: max(1, sizes.reduce(0, +)))
        var p = base
        func take(_ i: Int) -> UnsafeMutablePointer<Float> { defer { p += sizes[i] }; return p }
        dh = take(0); dgate = take(1); dup = take(2); dnorm = take(3); datty = take(4)
        dq = take(5); dk = take(6); dv = take(7); att = take(8)
        dpost = take(9); dqPre = take(10); dkPre = take(11)
    }

    deinit { base.deallocate() }
}

/// A growable `[Float]`-free buffer for the residual stream and friends.
final class FloatBuffer {
    let p: UnsafeMutablePointer<Float>
    let count: Int
    init(_ count: Int) {
        self.count = count
        p = .allocate(capacity: max(1, count))
        p.initialize(repeating: 0, count: max(1, count))
    }
    deinit { p.deallocate() }
}
