import Cluster
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
    ///
    /// With a distributed `partition` (issue 13) each rank runs forward and backward on its share of the sequences
    /// (`Communicator.share`), and each factor's sums are reduced in rank order to the rank that owns its Linear:
    /// only the owner gets the Linear's curvature, the others get identity factors that hold nothing. The loss is
    /// every sequence's, summed in sequence order, as in one process.
    ///
    /// `gradients` (indices into `model.linearIDs`; `nil`: all) limits which Linears get a measured `G`; the others
    /// get `G = I` (a coupled shot under `outputs` scores only the matrices that read its structures).
    public static func estimateWithLoss(model: TransformerModel, sequences: [[Int32]], need: Need,
                                        partition: LayerPartition? = nil, gradients: Set<Int>? = nil,
                                        progress: ((Int, Int) -> Void)? = nil,
                                        isCancelled: (() -> Bool)? = nil) throws -> (layers: [LayerCurvature], loss: Double?) {
        let layout = CurvatureLayout(model: model)
        if need == .identity {
            return (layout.linears.indices.map { layout.identity($0) }, nil)
        }
        let comm = partition?.communicator ?? LocalCommunicator()
        let mine = comm.share(of: sequences.count)
        // One A accumulator per (layer, input group), one G per Linear.
        let aAcc = layout.inputWidths.map { KFACAccumulator(dimension: $0) }
        let gAcc: [KFACAccumulator?] = need == .kfac
            ? layout.linears.indices.map { gradients?.contains($0) ?? true ? KFACAccumulator(dimension: layout.linears[$0].rows) : nil } : []
        let own = try pass(model: model, layout: layout, sequences: Array(sequences[mine]), need: need, progress: progress,
                           isCancelled: isCancelled, input: { slot, x, t in aAcc[slot].add(x, tokens: t) },
                           gradient: { k, g, t in gAcc[k]?.add(g, tokens: t) })
        var losses = [Double](repeating: 0, count: sequences.count)
        for (j, l) in own.enumerated() { losses[mine.lowerBound + j] = l }
        var owned = [Bool](repeating: true, count: layout.linears.count)
        if let partition, partition.isDistributed {
            try comm.allReduceSum(&losses)  // disjoint: exact
            var slotOwner = [Int](repeating: -1, count: aAcc.count)
            for (k, e) in layout.linears.enumerated() where slotOwner[e.slot] < 0 { slotOwner[e.slot] = partition.owner[k] }
            for (slot, acc) in aAcc.enumerated() { try acc.reduce(to: slotOwner[slot], over: comm) }
            for (k, acc) in gAcc.enumerated() { try acc?.reduce(to: partition.owner[k], over: comm) }
            owned = layout.linears.indices.map(partition.owns)
        }
        var aFactors: [SymmetricFactor?] = aAcc.map { _ in nil }
        for (k, e) in layout.linears.enumerated() where owned[k] && aFactors[e.slot] == nil { aFactors[e.slot] = aAcc[e.slot].finalize() }
        let layers = try layout.linears.indices.map { k in
            guard owned[k], let a = aFactors[layout.linears[k].slot] else { return layout.identity(k) }
            return try layout.curvature(k, a: a, g: need == .kfac ? gAcc[k]?.finalize() : nil)
        }
        return (layers, meanLoss(losses))
    }

    /// The mean of the per-sequence losses, added in sequence order.
    static func meanLoss(_ losses: [Double]) -> Double { sumInOrder(losses) / Double(max(losses.count, 1)) }

    /// `((0 + x₀) + x₁) + …`: the order one process adds in, whatever the rank count.
    static func sumInOrder(_ values: [Double]) -> Double {
        var sum = 0.0
        for v in values { sum += v }
        return sum
    }

    /// The streamed mode's curvature pass: one forward/backward per sequence, every distinct input and every
    /// output gradient appended to `spill` (keys `CurvatureLayout.inputKey` / `gradientKey`); no factor is held.
    /// Returns the mean calibration loss.
    public static func spill(model: TransformerModel, sequences: [[Int32]], need: Need, into spill: ActivationSpill,
                             progress: ((Int, Int) -> Void)? = nil, isCancelled: (() -> Bool)? = nil) throws -> Double? {
        let layout = CurvatureLayout(model: model)
        if need == .identity { return nil }
        return meanLoss(try pass(model: model, layout: layout, sequences: sequences, need: need, progress: progress, isCancelled: isCancelled,
                        input: { slot, x, t in try spill.append(CurvatureLayout.inputKey(slot), x, rows: t, width: layout.inputWidths[slot]) },
                        gradient: { k, g, t in try spill.append(CurvatureLayout.gradientKey(k), g, rows: t, width: layout.linears[k].rows) }))
    }

    /// The forward/backward pass both modes share: hands each distinct input (with the constant-1 column of a
    /// biased layer) and each output gradient (non-finite entries as 0, method.md §3.1) to the sinks, per sequence.
    static func pass(model: TransformerModel, layout: CurvatureLayout, sequences: [[Int32]], need: Need,
                     progress: ((Int, Int) -> Void)?, isCancelled: (() -> Bool)?,
                     input: (Int, UnsafePointer<Float>, Int) throws -> Void,
                     gradient: (Int, UnsafePointer<Float>, Int) throws -> Void) throws -> [Double] {
        var losses: [Double] = []
        for (n, seq) in sequences.enumerated() {
            if isCancelled?() == true { throw PruneCancelled() }
            var seenA = Set<Int>()
            let tokens = seq.map(Int.init)
            let t = tokens.count
            var failure: Error?
            let loss = try model.gradients(tokens: tokens) { id, x, gradOutput in
                guard failure == nil else { return }
                let k = layout.index[id]!, l = layout.linears[k]
                do {
                    if seenA.insert(l.slot).inserted {
                        if l.hasBias {
                            let padded = appendingConstantOneColumn(Array(x), tokens: t, columns: l.cols)
                            try padded.withUnsafeBufferPointer { try input(l.slot, $0.baseAddress!, t) }
                        } else {
                            try input(l.slot, x.baseAddress!, t)
                        }
                    }
                    if need == .kfac {
                        if gradOutput.contains(where: { !$0.isFinite }) {
                            let clean = gradOutput.map { $0.isFinite ? $0 : 0 }
                            try clean.withUnsafeBufferPointer { try gradient(k, $0.baseAddress!, t) }
                        } else {
                            try gradient(k, gradOutput.baseAddress!, t)
                        }
                    }
                } catch { failure = error }
            }
            if let failure { throw failure }
            guard loss.isFinite else { throw PruningError.nonFiniteFactor(layer: "calibration sequence \(n + 1)", factor: "loss \(loss)") }
            losses.append(Double(loss))
            progress?(n + 1, sequences.count)
        }
        return losses
    }
}

/// Which factor each prunable Linear uses (`model.linearIDs` order): a slot per distinct (block, input group,
/// bias) for `A`, one `G` per Linear. Both curvature modes and the memory plan read it.
public struct CurvatureLayout: Sendable {
    public struct Entry: Sendable {
        public var id: LinearID
        public var name: String
        public var rows: Int
        public var cols: Int
        public var hasBias: Bool
        /// Index into `inputWidths`.
        public var slot: Int
    }
    public var linears: [Entry] = []
    /// Order of each distinct input factor (`cols`, + 1 with a bias).
    public var inputWidths: [Int] = []
    var index: [LinearID: Int] = [:]

    public init(model: TransformerModel) {
        var groupSlot: [[Int: Int]] = Array(repeating: [:], count: model.blocks.count)
        for id in model.linearIDs {
            let l = model[linear: id]
            let group = CurvatureEstimator.inputGroup(l.role) * 2 + (l.bias == nil ? 0 : 1)
            let slot: Int
            if let s = groupSlot[id.layer][group] { slot = s } else {
                inputWidths.append(l.cols + (l.bias == nil ? 0 : 1))
                slot = inputWidths.count - 1
                groupSlot[id.layer][group] = slot
            }
            index[id] = linears.count
            linears.append(Entry(id: id, name: l.name, rows: l.rows, cols: l.cols, hasBias: l.bias != nil, slot: slot))
        }
    }

    static func inputKey(_ slot: Int) -> String { "a\(slot)" }
    static func gradientKey(_ k: Int) -> String { "g\(k)" }

    /// Identity factors (magnitude), which store no matrices.
    func identity(_ k: Int) -> LayerCurvature {
        LayerCurvature(g: .identity(linears[k].rows), a: .identity(inputWidths[linears[k].slot]), gScale: 1, aScale: 1)
    }

    /// Linear `k`'s curvature from its finalized factors (`g == nil`: `G = I`, unbalanced), checked finite.
    func curvature(_ k: Int, a: SymmetricFactor, g: SymmetricFactor?) throws -> LayerCurvature {
        let name = linears[k].name
        guard a.isFinite else { throw PruningError.nonFiniteFactor(layer: name, factor: "input factor A") }
        guard let g else { return LayerCurvature(g: .identity(linears[k].rows), a: a, gScale: 1, aScale: 1) }
        guard g.isFinite else { throw PruningError.nonFiniteFactor(layer: name, factor: "output-gradient factor G") }
        return LayerCurvature.balanced(g: g, a: a)
    }
}

/// The streamed mode's factors, one Linear at a time from an `ActivationSpill`: the `A` of the current input
/// slot is kept while consecutive Linears share it (q/k/v, gate/up), and only then.
public final class SpilledCurvature {
    public let layout: CurvatureLayout
    let spill: ActivationSpill
    let need: CurvatureEstimator.Need
    /// Keep every finalized factor on disk (`ActivationSpill.storeFactor`) so the second pass reads it back
    /// instead of rebuilding it from the rows, and its inverses (`store`), so they are computed once (the plan
    /// turns this on when the disk holds both).
    let keepFactors: Bool
    private var current: (slot: Int, a: SymmetricFactor)?

    public init(layout: CurvatureLayout, spill: ActivationSpill, need: CurvatureEstimator.Need, keepFactors: Bool = false) {
        self.layout = layout; self.spill = spill; self.need = need; self.keepFactors = keepFactors
    }

    /// The mean of `key`'s rows: read back if kept, else built from the spill (and kept when asked).
    private func factor(_ key: String, order n: Int) throws -> SymmetricFactor {
        if keepFactors, let data = try spill.storedFactor(key, count: n * n) { return SymmetricFactor(n: n, data: data, key: key) }
        let acc = KFACAccumulator(dimension: n)
        try spill.accumulate(key, into: acc)
        let f = acc.finalize(key: key)
        if keepFactors { try spill.storeFactor(key, f.data) }
        return f
    }

    /// Linear `k`'s curvature, built from the spill.
    public func curvature(_ k: Int) throws -> LayerCurvature {
        if need == .identity { return layout.identity(k) }
        let e = layout.linears[k]
        let a: SymmetricFactor
        if let c = current, c.slot == e.slot { a = c.a } else {
            current = nil
            a = try factor(CurvatureLayout.inputKey(e.slot), order: layout.inputWidths[e.slot])
            current = (e.slot, a)
        }
        var g: SymmetricFactor? = nil
        if need == .kfac {
            g = try factor(CurvatureLayout.gradientKey(k), order: e.rows)
        }
        return try layout.curvature(k, a: a, g: g)
    }

    /// Where the second pass finds the first pass's inverses (`nil` when the factors are not kept).
    public var store: FactorStore? { keepFactors ? spill : nil }

    /// Forgets the cached `A` (between passes).
    public func reset() { current = nil }
}
