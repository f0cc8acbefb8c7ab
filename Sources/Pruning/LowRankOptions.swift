import Model

/// Which prunable Linears receive a low-rank adapter.
public enum LowRankTargets: String, Codable, Sendable, CaseIterable {
    /// Every prunable Linear (the default).
    case all
    /// q, k, v and o only (the reference's choice, method.md §8).
    case attention
    /// gate, up and down only.
    case mlp

    /// Whether a Linear with `role` gets an adapter.
    public func includes(_ role: Linear.Role) -> Bool {
        switch self {
        case .all: return true
        case .attention: return [.q, .k, .v, .o].contains(role)
        case .mlp: return [.gate, .up, .down].contains(role)
        }
    }
}

/// Settings of the interleaved low-rank first-order correction (method.md §8, made to train).
public struct LowRankOptions: Sendable, Equatable {
    /// Adapter rank r (> 0).
    public var rank: Int
    /// Adam learning rate at the first epoch; decays linearly per epoch to `lr/epochs` at the last (torch `LinearLR`).
    public var learningRate: Double
    /// Standard deviation of the Gaussian init of A (r, C); B (R, r) starts at zero. The reference uses 1.
    public var initScale: Double
    public var targets: LowRankTargets

    public init(rank: Int, learningRate: Double = 1e-4, initScale: Double = 1, targets: LowRankTargets = .all) {
        self.rank = rank; self.learningRate = learningRate; self.initScale = initScale; self.targets = targets
    }

    /// The options of a request (`lora_rank`, `lora_lr`, `lora_targets`).
    public init(request: PruneRequest) {
        self.init(rank: request.loraRank, learningRate: request.loraLearningRate, targets: request.loraTargets)
    }
}

/// What one tune did (also what makes it reproducible: its seed and the sequences it used, in order).
public struct LowRankTuneResult: Sendable, Codable, Equatable {
    /// `"shot"` (short tune on a subset after a shot) or `"final"` (all sequences after the last shot).
    public var kind: String
    public var shot: Int
    /// Seed of the `PythonRandom` that drew the subset, the A init and each epoch's order.
    public var seed: UInt64
    /// Calibration sequence indices used (the subset, in draw order).
    public var sequences: [Int]
    public var epochs: Int
    /// Loss of each step, before that step's update (batch size 1: one step per sequence).
    public var losses: [Float]
    public var adaptedLayers: Int
    /// Trainable parameters (all B and A).
    public var parameters: Int
    public var seconds: Double

    /// Mean loss over the first and the last epoch.
    public var firstEpochLoss: Double { mean(losses.prefix(sequences.count)) }
    public var lastEpochLoss: Double { mean(losses.suffix(sequences.count)) }
    private func mean<S: Collection>(_ s: S) -> Double where S.Element == Float {
        s.isEmpty ? .nan : s.reduce(0) { $0 + Double($1) } / Double(s.count)
    }

    /// One log line.
    public var summary: String {
        let trend = epochs > 1 ? " → \(fmt(lastEpochLoss)) (last epoch)" : ""
        let what = kind == "tune" ? "low-rank tune" : "low-rank \(kind) tune after shot \(shot)"
        return "\(what): \(sequences.count) sequences × \(epochs) epochs, seed \(seed), "
            + "\(adaptedLayers) layers / \(parameters) adapter parameters, loss \(fmt(firstEpochLoss))\(trend), "
            + "\(fmt(seconds, 1)) s"
    }
    private func fmt(_ x: Double, _ digits: Int = 4) -> String {
        let p = (0..<digits).reduce(1.0) { r, _ in r * 10 }
        return "\((x * p).rounded() / p)"
    }
}
