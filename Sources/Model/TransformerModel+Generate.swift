import Foundation
import Tensor

extension TransformerModel {
    /// An empty KV cache for up to `capacity` positions (at most `maxPositions`).
    public func makeKVCache(capacity: Int) -> KVCache {
        KVCache(capacity: min(capacity, config.maxPositions), kvWidths: blocks.map { $0.kvHeads * config.headDim })
    }

    /// Feeds `tokens` at positions `cache.length...`, appends their keys/values to `cache`, and returns
    /// the logits `(V)` predicting the token after the last one.
    public func step(tokens: [Int], cache: KVCache) throws -> [Float] {
        let t = try validate(tokens: tokens, batch: 1)
        let past = cache.length
        guard past + t <= cache.capacity else {
            throw ModelError.badInput("KV cache holds \(cache.capacity) positions; \(past) used, \(t) more requested")
        }
        let c = config.hiddenSize, w = maxWidths
        let acts = BlockActivations(n: t, t: t, keys: past + t, c: c, d: config.headDim, hd: w.hd, kvd: w.kvd, f: w.f,
                                    gated: config.architecture.isLlamaLike)
        let x = FloatBuffer(t * c)
        embed(x.p, tokens: tokens, b: 1, t: t, past: past)
        for (l, blk) in blocks.enumerated() {
            blockForward(x.p, acts, blk, b: 1, t: t, past: past, cache: KVSlot(k: cache.k[l], v: cache.v[l]),
                         store: false)
        }
        cache.length = past + t
        finalNorm.forward(acts.norm1, mean: nil, rstd: nil, x.p + (t - 1) * c, n: 1)
        var logits = [Float](repeating: 0, count: config.vocabSize)
        withLMHead { head in
            logits.withUnsafeMutableBufferPointer { lg in
                sgemm(transB: true, m: 1, n: config.vocabSize, k: c, acts.norm1, lda: c, head, ldb: c, lg.baseAddress!, ldc: config.vocabSize)
            }
        }
        return logits
    }

    /// Generates up to `maxNewTokens` after `prompt`, one token at a time with a KV cache: greedy when
    /// `temperature <= 0`, otherwise sampled from `softmax(logits / temperature)` with a generator
    /// seeded by `seed`. Stops after a token in `stop`, or when `onToken` returns false.
    public func generate(prompt: [Int], maxNewTokens: Int, temperature: Float = 0, seed: UInt64 = 0,
                         stop: Set<Int> = [], onToken: ((Int) -> Bool)? = nil) throws -> [Int] {
        guard !prompt.isEmpty else { throw ModelError.badInput("generate needs a non-empty prompt") }
        let cache = makeKVCache(capacity: prompt.count + maxNewTokens)
        var rng = SeededGenerator(seed: seed)
        var out: [Int] = []
        var logits = try step(tokens: prompt, cache: cache)
        while out.count < maxNewTokens {
            let next = Self.pick(logits, temperature: temperature, rng: &rng)
            out.append(next)
            if stop.contains(next) || onToken?(next) == false || out.count == maxNewTokens { break }
            guard cache.length < cache.capacity else { break }
            logits = try step(tokens: [next], cache: cache)
        }
        return out
    }

    static func pick(_ logits: [Float], temperature: Float, rng: inout SeededGenerator) -> Int {
        var best = 0
        for i in logits.indices where logits[i] > logits[best] { best = i }
        guard temperature > 0 else { return best }
        let m = logits[best]
        var p = logits.map { Double(expf(($0 - m) / temperature)) }
        let sum = p.reduce(0, +)
        var u = Double.random(in: 0..<1, using: &rng) * sum
        for i in p.indices {
            u -= p[i]
            if u <= 0 { return i }
        }
        p.removeAll()
        return best
    }
}
