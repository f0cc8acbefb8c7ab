import Foundation

/// The outcome of a perplexity evaluation, with its protocol.
public struct PerplexityResult: Sendable, Codable, Equatable {
    /// `exp(mean over windows of each window's mean CE over seqlen − 1 predictions)`.
    public var perplexity: Double
    /// Tokens evaluated (`windows · seqlen`).
    public var tokens: Int
    public var windows: Int
    public var seqlen: Int
    public var seconds: Double
    /// Each window's mean cross-entropy.
    public var windowLosses: [Double]
}

extension TransformerModel {
    /// Perplexity over non-overlapping windows of `seqlen` tokens (the remainder is dropped, no context
    /// carried between windows), at most `windows` of them. `progress(done, total)` after each window.
    /// `shard` (a distributed run's share) runs only the windows `w` with `w % ranks == rank`: the others' losses are
    /// 0 in `windowLosses`, and `perplexity` then covers only the windows run (the caller combines the ranks' losses).
    public func perplexity(tokens: [Int], seqlen: Int, windows: Int? = nil, shard: (rank: Int, ranks: Int)? = nil,
                           progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> PerplexityResult {
        guard seqlen >= 2 else { throw ModelError.badInput("seqlen must be at least 2, got \(seqlen)") }
        guard seqlen <= config.maxPositions else {
            throw ModelError.badInput("seqlen \(seqlen) exceeds the model's \(config.maxPositions) positions")
        }
        var total = tokens.count / seqlen
        if let windows { total = min(total, max(0, windows)) }
        guard total > 0 else {
            throw ModelError.badInput("\(tokens.count) tokens make no full window of \(seqlen)")
        }
        let start = Date()
        var losses: [Double] = []
        for w in 0..<total {
            if let shard, w % shard.ranks != shard.rank { losses.append(0); continue }
            let r = try forward(tokens: Array(tokens[(w * seqlen)..<((w + 1) * seqlen)]), batch: 1)
            losses.append(Double(r.losses[0]))
            progress?(w + 1, total)
        }
        let mean = losses.reduce(0, +) / Double(total)
        return PerplexityResult(perplexity: exp(mean), tokens: total * seqlen, windows: total, seqlen: seqlen,
                                seconds: Date().timeIntervalSince(start), windowLosses: losses)
    }
}
