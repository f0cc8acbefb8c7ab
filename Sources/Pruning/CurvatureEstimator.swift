import Model
import Tensor

/// Estimates the K-FAC factors of every prunable Linear from real forward and backward passes
/// (method.md §3.1): empirical Fisher, per-sequence mean cross-entropy against the true next tokens,
/// `A = mean ā āᵀ` over all calibration tokens (one factor per distinct input: q/k/v share one,
/// gate/up share one), `G = mean g gᵀ`, then Frobenius balance per layer.
public enum CurvatureEstimator {
    /// Which factors a method needs.
    public enum Need: Sendable {
        /// Both `A` and `G` (LLM Surgeon, K-OBD).
        case kfac
        /// Only `A`, with `G = I` (L-OBD, Wanda, SparseGPT).
        case activations
        /// Neither: `A = I`, `G = I` (magnitude).
        case identity
    }

    /// The factors a method needs.
    public static func need(for method: PruneRequest.Method) -> Need {
        switch method {
        case .llmSurgeon, .kobd: return .kfac
        case .lobd, .wanda, .sparsegpt: return .activations
        case .magnitude: return .identity
        }
    }

    /// Index of the shared input a Linear reads inside its block: q/k/v read the attention norm's
    /// output, gate/up the FFN norm's output, o and down their own inputs.
    static func inputGroup(_ role: Linear.Role) -> Int {
        switch role {
        case .q, .k, .v: return 0
        case .o: return 1
        case .gate, .up: return 2
        case .down: return 3
        }
    }

    /// Curvature of every prunable Linear of `model`, in `model.linearIDs` order, from `sequences`.
    /// `progress(done, total)` is called after each sequence; `isCancelled` is checked between sequences.
    public static func estimate(model: TransformerModel, sequences: [[Int32]], need: Need,
                                progress: ((Int, Int) -> Void)? = nil,
                                isCancelled: (() -> Bool)? = nil) throws -> [LayerCurvature] {
        try estimateWithLoss(model: model, sequences: sequences, need: need, progress: progress, isCancelled: isCancelled).layers
    }

    /// The curvature, and the mean calibration loss (mean over sequences of the per-sequence mean cross-entropy)
    /// of the model it was measured on; `nil` when no pass ran (magnitude needs none).
    public static func estimateWithLoss(model: TransformerModel, sequences: [[Int32]], need: Need,
                                        progress: ((Int, Int) -> Void)? = nil,
                                        isCancelled: (() -> Bool)? = nil) throws -> (layers: [LayerCurvature], loss: Double?) {
        let ids = model.linearIDs
        if need == .identity {
            return (ids.map { id in
                let l = model[linear: id]
                let c = l.cols + (l.bias == nil ? 0 : 1)
                return LayerCurvature(g: .identity(l.rows), a: .identity(c), gScale: 1, aScale: 1)
            }, nil)
        }
        // One A accumulator per (layer, input group), one G per Linear.
        var aIndex: [LinearID: Int] = [:]
        var aAcc: [KFACAccumulator] = []
        var groupSlot: [[Int: Int]] = Array(repeating: [:], count: model.blocks.count)
        var gAcc: [LinearID: KFACAccumulator] = [:]
        for id in ids {
            let l = model[linear: id]
            let group = inputGroup(l.role) * 2 + (l.bias == nil ? 0 : 1)
            if let slot = groupSlot[id.layer][group] {
                aIndex[id] = slot
            } else {
                aAcc.append(KFACAccumulator(dimension: l.cols + (l.bias == nil ? 0 : 1)))
                groupSlot[id.layer][group] = aAcc.count - 1
                aIndex[id] = aAcc.count - 1
            }
            if need == .kfac { gAcc[id] = KFACAccumulator(dimension: l.rows) }
        }
        let hasBias = Dictionary(uniqueKeysWithValues: ids.map { ($0, model[linear: $0].bias != nil) })
        var lossSum = 0.0
        for (n, seq) in sequences.enumerated() {
            if isCancelled?() == true { throw PruneCancelled() }
            var seenA = Set<Int>()
            let tokens = seq.map(Int.init)
            let t = tokens.count
            let loss = try model.gradients(tokens: tokens) { id, input, gradOutput in
                let slot = aIndex[id]!
                if !seenA.contains(slot) {
                    seenA.insert(slot)
                    let acc = aAcc[slot]
                    if hasBias[id]! {
                        let c0 = acc.dimension - 1
                        var x = [Float](repeating: 1, count: t * (c0 + 1))  // (T, C0+1), last column 1
                        for r in 0..<t { for c in 0..<c0 { x[r * (c0 + 1) + c] = input[r * c0 + c] } }
                        acc.add(x, tokens: t)
                    } else {
                        acc.add(input.baseAddress!, tokens: t)
                    }
                }
                if let g = gAcc[id] {
                    // NaNs in the gradient count as 0 (method.md §3.1).
                    if gradOutput.contains(where: { !$0.isFinite }) {
                        g.add(gradOutput.map { $0.isFinite ? $0 : 0 }, tokens: t)
                    } else {
                        g.add(gradOutput.baseAddress!, tokens: t)
                    }
                }
            }
            guard loss.isFinite else { throw PruningError.nonFiniteFactor(layer: "calibration sequence \(n + 1)", factor: "loss \(loss)") }
            lossSum += Double(loss)
            progress?(n + 1, sequences.count)
        }
        let aFactors = aAcc.map { $0.finalize() }
        let layers = try ids.map { id -> LayerCurvature in
            let a = aFactors[aIndex[id]!]
            let name = model[linear: id].name
            guard a.isFinite else { throw PruningError.nonFiniteFactor(layer: name, factor: "input factor A") }
            guard let gacc = gAcc[id] else {
                return LayerCurvature(g: .identity(model[linear: id].rows), a: a, gScale: 1, aScale: 1)
            }
            let g = gacc.finalize()
            guard g.isFinite else { throw PruningError.nonFiniteFactor(layer: name, factor: "output-gradient factor G") }
            return LayerCurvature.balanced(g: g, a: a)
        }
        return (layers, lossSum / Double(max(sequences.count, 1)))
    }
}
