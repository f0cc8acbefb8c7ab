import Foundation
import Model
import Tensor

/// The interleaved low-rank first-order correction (method.md §8, a version that trains): rank-r adapters
/// on the chosen Linears, trained with Adam on the calibration sequences' per-sequence mean CE (batch size 1),
/// masked by the current sparsity pattern, then absorbed into the weights.
///
/// After every shot: a short tune on a random `lora_subset` of the sequences (at least one), one epoch.
/// After the last shot also: a final tune on all sequences for `lora_epochs`. Every tune draws from its own
/// `PythonRandom` seeded by `seed(request:shot:final:)`, so a resumed run repeats it exactly.
public enum LowRankCorrection {
    /// Runs the tunes a request asks for after `shot` (none when `lora_rank` is 0), in place on `model`.
    /// `progress(done, total)` counts steps over all tunes of this call.
    public static func afterShot(model: inout TransformerModel, calibration: [[Int32]], request: PruneRequest, shot: Int,
                                 progress: ((Int, Int) -> Void)? = nil,
                                 isCancelled: (() -> Bool)? = nil) throws -> [LowRankTuneResult] {
        guard request.loraRank > 0, !calibration.isEmpty else { return [] }
        let options = LowRankOptions(request: request)
        let n = calibration.count
        let subset = min(n, max(1, Int(Double(n) * request.loraSubset)))
        let last = shot == request.shots
        let total = subset + (last ? n * request.loraEpochs : 0)
        var results: [LowRankTuneResult] = []
        var seed = Self.seed(request: request.seed, shot: shot, final: false)
        var rng = PythonRandom(seed: seed)
        let picks = rng.sample(rangeCount: n, k: subset)
        results.append(try tune(model: &model, sequences: calibration, indices: picks, epochs: 1, options: options, rng: &rng,
                                progress: { done, _ in progress?(done, total) }, isCancelled: isCancelled)
            .with(kind: "shot", shot: shot, seed: seed))
        if last && request.loraEpochs > 0 {
            seed = Self.seed(request: request.seed, shot: shot, final: true)
            rng = PythonRandom(seed: seed)
            results.append(try tune(model: &model, sequences: calibration, indices: Array(0..<n), epochs: request.loraEpochs,
                                    options: options, rng: &rng, progress: { done, _ in progress?(subset + done, total) },
                                    isCancelled: isCancelled)
                .with(kind: "final", shot: shot, seed: seed))
        }
        return results
    }

    /// The seed of one tune: SplitMix64 of the request seed, the shot and whether it is the final tune.
    public static func seed(request seed: UInt64, shot: Int, final: Bool) -> UInt64 {
        var z = seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(2 * shot + (final ? 1 : 0) + 1)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return (z ^ (z >> 31)) >> 1  // 63 bits
    }

    /// Creates adapters on the chosen Linears (A drawn from `rng` in `linearIDs` order), trains them for
    /// `epochs` over `sequences[indices]` (each epoch in an order drawn from `rng`), and leaves them absorbed
    /// in `model`. The learning rate of epoch e (from 0) is `lr·(1 − e/epochs)`.
    public static func tune(model: inout TransformerModel, sequences: [[Int32]], indices: [Int], epochs: Int,
                            options: LowRankOptions, rng: inout PythonRandom,
                            progress: ((Int, Int) -> Void)? = nil,
                            isCancelled: (() -> Bool)? = nil) throws -> LowRankTuneResult {
        let start = Date()
        let adapters = makeAdapters(model, options: options, rng: &rng)
        let index = Dictionary(uniqueKeysWithValues: adapters.enumerated().map { ($1.id, $0) })
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, adapters.map { $0.rows * $0.cols }.max() ?? 1))
        defer { scratch.deallocate() }
        var losses: [Float] = []
        var step = 0
        for e in 0..<max(epochs, 0) {
            let lr = Float(options.learningRate * (1 - Double(e) / Double(epochs)))
            for p in rng.permutation(indices.count) {
                if isCancelled?() == true { throw PruneCancelled() }
                let tokens = sequences[indices[p]].map(Int.init)
                let loss = try gradients(model: model, adapters: adapters, index: index, tokens: tokens, scratch: scratch)
                guard loss.isFinite else {
                    throw PruningError.nonFiniteFactor(layer: "low-rank tune, calibration sequence \(indices[p] + 1)", factor: "loss \(loss)")
                }
                losses.append(loss)
                step += 1
                for ad in adapters { ad.step(weight: &model[linear: ad.id].weight, lr: lr, step: step, scratch: scratch) }
                progress?(step, epochs * indices.count)
            }
        }
        return LowRankTuneResult(kind: "tune", shot: 0, seed: 0, sequences: indices, epochs: epochs, losses: losses,
                                 adaptedLayers: adapters.count, parameters: adapters.reduce(0) { $0 + $1.parameterCount },
                                 seconds: Date().timeIntervalSince(start))
    }

    /// Adapters for the Linears `options.targets` selects, A drawn from `rng` in `linearIDs` order.
    static func makeAdapters(_ model: TransformerModel, options: LowRankOptions, rng: inout PythonRandom) -> [LowRankAdapter] {
        model.linearIDs.compactMap { id in
            let l = model[linear: id]
            guard options.targets.includes(l.role), l.rows > 0, l.cols > 0 else { return nil }
            return LowRankAdapter(id: id, rows: l.rows, cols: l.cols, rank: options.rank, initScale: options.initScale, rng: &rng)
        }
    }

    /// Forward and backward of one sequence; fills every adapter's `gradB`/`gradA`; returns the loss.
    static func gradients(model: TransformerModel, adapters: [LowRankAdapter], index: [LinearID: Int], tokens: [Int],
                          scratch: UnsafeMutablePointer<Float>) throws -> Float {
        try model.gradients(tokens: tokens) { id, input, gradOutput in
            guard let k = index[id] else { return }
            model[linear: id].weight.withUnsafeBufferPointer { w in
                adapters[k].accumulateGradients(input: input, gradOutput: gradOutput, weight: w, scratch: scratch)
            }
        }
    }

    /// Mean over `sequences` of each sequence's mean next-token cross-entropy (forward only).
    public static func meanLoss(model: TransformerModel, sequences: [[Int32]]) throws -> Double {
        var s = 0.0
        for seq in sequences { s += Double(try model.forward(tokens: seq.map(Int.init)).losses[0]) }
        return s / Double(max(sequences.count, 1))
    }
}

extension LowRankTuneResult {
    func with(kind: String, shot: Int, seed: UInt64) -> LowRankTuneResult {
        var r = self
        r.kind = kind; r.shot = shot; r.seed = seed
        return r
    }
}
