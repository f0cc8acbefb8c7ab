import Cluster
import Foundation
import Tensor

/// One shot of pruning over every prunable matrix (method.md §1 inner loop): costs for all layers, one global
/// threshold, then per-layer OBS updates and masks. The curvature must already be estimated on the current model.
public enum ShotPruner {
    /// Prunes `layers` to the target sparsity `options.sparsity` in place.
    /// - Parameters:
    ///   - progress: called with (phase, layer 1-based, layer count) as layers are walked.
    ///   - isCancelled: checked between layers; when it returns true, `PruneCancelled` is thrown.
    ///   - partition: a distributed run's layer owners (issue 13; `nil`: one process owns every layer). Each rank
    ///     prepares, costs and updates only the layers it owns (the others' curvature is empty); the costs go to
    ///     every rank before the one global threshold, which every rank computes alike, and the updated weights go
    ///     to every rank at the end, so all ranks leave with the same layers.
    public static func run(_ layers: inout [PrunableLayer], options: ShotOptions,
                           partition: LayerPartition? = nil,
                           progress: ((String, Int, Int) -> Void)? = nil,
                           isCancelled: (() -> Bool)? = nil) throws -> ShotResult {
        let part = partition ?? .local(count: layers.count)
        precondition(part.owner.count == layers.count, "ShotPruner.run: a partition of \(part.owner.count) layers for \(layers.count)")
        let s = options.sparsity
        guard s >= 0, s < 1 else { throw PruningError.invalidSparsity(s) }
        let method = options.method, structure = options.structure
        switch (method, structure) {
        case (.wanda, .structured), (.wanda, .coupled), (.sparsegpt, .structured), (.sparsegpt, .coupled):
            throw PruningError.unsupported(method: method.rawValue, structure: structure.rawValue)
        case (_, .coupled) where options.coupling == nil:
            throw PruningError.unsupported(method: method.rawValue, structure: "coupled without a coupling plan")
        default: break
        }
        let ctx = ShotContext(layerCount: layers.count, progress: progress, isCancelled: isCancelled)
        let zerosBefore = layers.map(\.zeros)
        let cache = InverseCache()
        var states: [LayerState] = []
        let scored = options.scoredLayers(count: layers.count)
        try ctx.timed("costs") {
            for i in layers.indices {
                try ctx.check("costs", i)
                guard part.owns(i) else { states.append(LayerState(live: LiveSet(rows: [], cols: []), kappa: 0)); continue }
                cache.register(layers[i].curvature)
                // A layer that is only zeroed (a coupled structure's producing rows under `outputs`) needs its live
                // set, not its inverses.
                let st = try ctx.timed("inverses") {
                    try prepare(&layers[i], method: scored.contains(i) || method != .llmSurgeon ? method : .kobd,
                                dampG: options.dampG, dampA: options.dampA, cache: cache,
                                factored: structure == .structured || structure == .coupled)
                }
                states.append(st)
            }
        }
        var tau: Float? = nil
        var diagnostics: (quadratic: Double, selected: Double)? = nil
        var refit: MaskedRefit.Outcome? = nil
        switch (method, structure) {
        case (.wanda, _), (.sparsegpt, _):
            try ctx.timed("update") {
                for i in layers.indices where part.owns(i) {
                    try ctx.check("update", i)
                    try perLayerBaseline(&layers[i], method: method, sparsity: s, semi24: structure == .semi24)
                }
            }
        case (_, .unstructured), (_, .semi24):
            (tau, refit) = try elementwise(&layers, &states, cache, options: options, part: part, ctx: ctx)
        case (_, .structured):
            (tau, diagnostics, refit) = try rowsAndColumns(&layers, &states, cache, options: options, part: part, ctx: ctx)
        case (_, .coupled):
            tau = try coupled(&layers, &states, cache, options: options, part: part, ctx: ctx)
        }
        if part.isDistributed {
            try ctx.timed("exchange") {
                for i in layers.indices { try part.communicator.broadcast(&layers[i].weight.data, root: part.owner[i]) }
            }
        }
        states.removeAll()
        cache.removeAll()
        var result = ShotResult(threshold: tau, zerosBefore: zerosBefore, zeros: layers.map(\.zeros), parameters: layers.map { $0.R * $0.C }, seconds: ctx.seconds)
        result.quadraticModelIncrease = diagnostics?.quadratic
        result.selectedCost = diagnostics?.selected
        result.refit = refit
        return result
    }


    static func perLayerBaseline(_ layer: inout PrunableLayer, method: PruneRequest.Method, sparsity s: Double,
                                 semi24: Bool) throws {
        let cv = layer.curvature
        if method == .wanda {
            let mask = Wanda.mask(theta: layer.weight.data, aDiag: cv.a.diagonal, R: layer.R, C: layer.C, sparsity: s,
                                  semi24: semi24, weightColumns: layer.weightColumns)
            for i in mask.indices where mask[i] { layer.weight.data[i] = 0 }
        } else {
            try SparseGPT.prune(theta: &layer.weight, h: cv.a.data, sparsity: s, semi24: semi24,
                                weightColumns: layer.weightColumns, layer: layer.name)
        }
    }

    static func elementwise(_ layers: inout [PrunableLayer], _ states: inout [LayerState], _ cache: InverseCache, options: ShotOptions,
                            part: LayerPartition, ctx: ShotContext) throws -> (Float?, MaskedRefit.Outcome?) {
        let semi = options.structure == .semi24
        var costs: [[Float]] = [], blocks: [[Float]] = [], pairs: [[UInt8]] = []
        let joint = semi && options.pairCost == .joint && options.method == .llmSurgeon
        try ctx.timed("costs") {
            for i in layers.indices {
                // Joint 2:4 costs are built from the inverses below; single-weight costs would go unused.
                costs.append(joint ? [] : part.owns(i) ? elementCosts(layers[i], states[i], method: options.method)
                                                       : [Float](repeating: 0, count: layers[i].R * layers[i].C))
            }
            if part.isDistributed, !joint {
                for i in layers.indices { try part.communicator.broadcast(&costs[i], root: part.owner[i]) }
            }
            for i in layers.indices {
                if joint {
                    var b = [Float](repeating: 0, count: layers[i].R * SemiStructured.blocksPerRow(weightColumns: layers[i].weightColumns))
                    var p = [UInt8](repeating: 0, count: b.count)
                    if part.owns(i) {
                        let l = layers[i], st = states[i]
                        (b, p) = SemiStructured.jointBlockCosts(theta: l.weight.data, u: reciprocalOrZero(st.ginvDiag).map { $0 * st.kappa },
                                                                ainv: st.ainv.full(), liveCols: st.live.cols, R: l.R, C: l.C,
                                                                weightColumns: l.weightColumns)
                    }
                    if part.isDistributed { try part.communicator.broadcast(&b, root: part.owner[i]) }
                    blocks.append(b); pairs.append(p)
                } else if semi {
                    blocks.append(SemiStructured.blockCosts(elementCosts: costs[i], R: layers[i].R, C: layers[i].C,
                                                            weightColumns: layers[i].weightColumns))
                }
            }
        }
        // One threshold per matrix: the global one everywhere, or each matrix's own (`allocation: per_layer`).
        var taus: [Float?] = []
        ctx.timed("threshold") {
            if options.allocation == .perLayer {
                taus = GlobalThreshold.perLayer(costs: semi ? blocks : costs, sparsity: options.sparsity, semi24: semi)
            } else {
                let tau = semi ? GlobalThreshold.semiStructured(blockCosts: blocks, sparsity: options.sparsity)
                               : GlobalThreshold.unstructured(costs: costs, sparsity: options.sparsity)
                taus = [Float?](repeating: tau, count: layers.count)
            }
        }
        guard taus.contains(where: { $0 != nil }) else { return (nil, nil) }
        let tau = options.allocation == .global ? taus.first ?? nil : nil
        let refits = options.refits
        var refitBefore = [Double](repeating: 0, count: layers.count), refitAfter = refitBefore
        var refitSeconds = 0.0  // summed over the parallel layer workers
        // The correlated update is sequential within a layer but independent across layers: layers run in
        // parallel on the job's BLAS threads. The baselines only mask.
        let workers = options.method == .llmSurgeon ? blasThreads() : 1
        let lock = NSLock()
        try ctx.timed("update") {
            // Each worker touches only element i of these arrays, so per-layer buffers are freed as soon as the
            // layer is done (the costs alone are 4 bytes per weight); the shared inverse cache takes the lock.
            try layers.withUnsafeMutableBufferPointer { lp in try states.withUnsafeMutableBufferPointer { sp in
            try costs.withUnsafeMutableBufferPointer { cp in
                try BLASParallel.forEachThrowing(count: lp.count, workers: workers) { i, _ in
                    guard part.owns(i) else { cp[i] = []; return }
                    try lock.withLock { try ctx.check("update", i) }
                    let t = taus[i] ?? -.infinity  // a matrix without costs: nothing is removed
                    let l = lp[i]
                    var mask = [Bool](repeating: false, count: l.R * l.C)
                    if joint {
                        SemiStructured.mark(&mask, pairs: pairs[i], blockCosts: blocks[i], tau: t, R: l.R, C: l.C,
                                            weightColumns: l.weightColumns)
                    } else if semi {
                        SemiStructured.mark(&mask, elementCosts: cp[i], blockCosts: blocks[i], tau: t, R: l.R, C: l.C,
                                            weightColumns: l.weightColumns)
                    } else {
                        cp[i].withUnsafeBufferPointer { p in for j in 0..<p.count where p[j] <= t { mask[j] = true } }
                    }
                    cp[i] = []
                    if options.method == .llmSurgeon {
                        let before = refits ? lp[i].weight.data : []
                        try CorrelatedUpdate.apply(theta: &lp[i].weight, mask: mask, live: sp[i].live,
                                                   ginv: sp[i].ginv.full(), ainv: sp[i].ainv.full(),
                                                   maxCorrelate: options.maxCorrelate, layer: l.name)
                        if refits {
                            let t0 = Date()
                            let o = refitKept(&lp[i], sp[i], before: before, options: options)
                            let dt = Date().timeIntervalSince(t0)
                            lock.withLock { refitBefore[i] = o.before; refitAfter[i] = o.after; refitSeconds += dt }
                        }
                    } else {
                        for j in mask.indices where mask[j] { lp[i].weight.data[j] = 0 }
                    }
                    sp[i].release()
                    lock.withLock { cache.release(lp[i].curvature) }
                }
            } } }
        }
        guard refits else { return (tau, nil) }
        ctx.seconds["refit", default: 0] += refitSeconds
        if part.isDistributed {  // disjoint per-layer values: exact
            try part.communicator.allReduceSum(&refitBefore)
            try part.communicator.allReduceSum(&refitAfter)
        }
        return (tau, MaskedRefit.Outcome(before: CurvatureEstimator.sumInOrder(refitBefore), after: CurvatureEstimator.sumInOrder(refitAfter)))
    }

    static func rowsAndColumns(_ layers: inout [PrunableLayer], _ states: inout [LayerState], _ cache: InverseCache, options: ShotOptions,
                               part: LayerPartition, ctx: ShotContext) throws -> (Float, (quadratic: Double, selected: Double)?, MaskedRefit.Outcome?) {
        var costs: [GlobalThreshold.StructuredLayer] = []
        try ctx.timed("costs") {
            for i in layers.indices {
                var (r, c) = part.owns(i) ? rowColumnCosts(layers[i], states[i], method: options.method)
                                          : ([Float](repeating: 0, count: layers[i].R), [Float](repeating: 0, count: layers[i].C))
                if part.isDistributed {
                    try part.communicator.broadcast(&r, root: part.owner[i])
                    try part.communicator.broadcast(&c, root: part.owner[i])
                }
                costs.append(.init(rowCosts: r, colCosts: c))
            }
        }
        var tau = -Float.infinity
        ctx.timed("threshold") { tau = GlobalThreshold.structured(costs, sparsity: options.sparsity) }
        let diagnose = options.method == .llmSurgeon || options.method == .kobd
        var quadratic = [Double](repeating: 0, count: layers.count), selected = quadratic
        var refitBefore = quadratic, refitAfter = quadratic
        try ctx.timed("update") {
            for i in layers.indices where part.owns(i) {
                try ctx.check("update", i)
                let d = try removeBelowThreshold(&layers[i], states[i], costs[i], tau: tau, options: options, ctx: ctx)
                quadratic[i] = d.quadratic; selected[i] = d.selected
                refitBefore[i] = d.refit.before; refitAfter[i] = d.refit.after
                states[i].release(); cache.release(layers[i].curvature)
            }
        }
        if diagnose, part.isDistributed {  // disjoint per-layer values: exact
            try part.communicator.allReduceSum(&quadratic)
            try part.communicator.allReduceSum(&selected)
            try part.communicator.allReduceSum(&refitBefore)
            try part.communicator.allReduceSum(&refitAfter)
        }
        let refit = MaskedRefit.Outcome(before: CurvatureEstimator.sumInOrder(refitBefore), after: CurvatureEstimator.sumInOrder(refitAfter))
        return (tau, diagnose ? (CurvatureEstimator.sumInOrder(quadratic), CurvatureEstimator.sumInOrder(selected)) : nil,
                options.refits ? refit : nil)
    }

    /// Removes the rows and columns of one layer whose costs are at most `tau`, with the OBS update; returns the
    /// layer's diagnostics (the quadratic model's increase and the selected cost; 0 for methods without them).
    static func removeBelowThreshold(_ layer: inout PrunableLayer, _ st: LayerState, _ costs: GlobalThreshold.StructuredLayer,
                                     tau: Float, options: ShotOptions, ctx: ShotContext) throws -> (quadratic: Double, selected: Double, refit: MaskedRefit.Outcome) {
        let diagnose = options.method == .llmSurgeon || options.method == .kobd
        let rows = costs.rowCosts.indices.filter { costs.rowCosts[$0] <= tau }
        let cols = costs.colCosts.indices.filter { costs.colCosts[$0] <= tau }
        let before = diagnose ? layer.weight.data : []
        try removeRowsAndColumns(&layer, st, rows: rows, cols: cols, options: options)
        guard diagnose else { return (0, 0, .none) }
        let refit = ctx.timed("refit") { refitKept(&layer, st, before: before, options: options) }
        let q = ctx.timed("diagnostics") { quadraticModel(change: before, layer, kappa: st.kappa) }
        let s = rows.reduce(0.0) { $0 + Double(costs.rowCosts[$1]) } + cols.reduce(0.0) { $0 + Double(costs.colCosts[$1]) }
        return (q, s, refit)
    }

    /// LLM Surgeon with `refitIterations > 0`: the refit of the kept weights on the mask the update left
    /// (`MaskedRefit`), with the damping of the shot's inverses; its outcome scaled by the layer's `κ`.
    static func refitKept(_ layer: inout PrunableLayer, _ st: LayerState, before: [Float], options: ShotOptions) -> MaskedRefit.Outcome {
        guard options.refits else { return .none }
        let o = MaskedRefit.refit(theta: &layer.weight, before: before, live: st.live, g: layer.curvature.g, a: layer.curvature.a,
                                  dampG: options.dampG, dampA: options.dampA, iterations: options.refitIterations)
        return MaskedRefit.Outcome(before: o.before * Double(st.kappa), after: o.after * Double(st.kappa))
    }

    /// `½·κ·tr(G Δ A Δᵀ)` with the undamped factors: the loss increase the K-FAC quadratic model predicts for the
    /// change `Δ = Θ_after − Θ_before` actually applied to `layer` (no first-order term). `before` is Θ_before. // (R, C)
    static func quadraticModel(change before: [Float], _ layer: PrunableLayer, kappa: Float) -> Double {
        let R = layer.R, C = layer.C
        var delta = layer.weight.data
        for j in delta.indices { delta[j] -= before[j] }
        var da = [Float](repeating: 0, count: R * C), gd = [Float](repeating: 0, count: R * C)
        let g = layer.curvature.g.data, a = layer.curvature.a.data
        delta.withUnsafeBufferPointer { d in
            a.withUnsafeBufferPointer { ap in
                da.withUnsafeMutableBufferPointer { sgemm(m: R, n: C, k: C, d.baseAddress!, lda: C, ap.baseAddress!, ldb: C, $0.baseAddress!, ldc: C) }
            }
            g.withUnsafeBufferPointer { gp in
                gd.withUnsafeMutableBufferPointer { sgemm(m: R, n: C, k: R, gp.baseAddress!, lda: R, d.baseAddress!, ldb: C, $0.baseAddress!, ldc: C) }
            }
        }
        var acc = [Double](repeating: 0, count: 4)
        var j = 0
        while j + 4 <= da.count {
            for u in 0..<4 { acc[u] += Double(da[j + u]) * Double(gd[j + u]) }
            j += 4
        }
        while j < da.count { acc[0] += Double(da[j]) * Double(gd[j]); j += 1 }
        return 0.5 * Double(kappa) * acc.reduce(0, +)
    }

    static func removeRowsAndColumns(_ layer: inout PrunableLayer, _ st: LayerState, rows: [Int], cols: [Int],
                                     options: ShotOptions) throws {
        if options.method == .llmSurgeon {
            try StructuredUpdate.apply(theta: &layer.weight, rows: rows, cols: cols, live: st.live, ginv: st.ginv,
                                       ainv: st.ainv, order: options.structuredOrder,
                                       groupSize: options.structuredGroupSize, layer: layer.name)
        } else {
            layer.zero(rows: rows, cols: cols)
        }
    }
}

/// Timing and progress/cancellation of one shot.
final class ShotContext {
    let layerCount: Int
    let progress: ((String, Int, Int) -> Void)?
    let isCancelled: (() -> Bool)?
    var seconds: [String: Double] = [:]

    init(layerCount: Int, progress: ((String, Int, Int) -> Void)?, isCancelled: (() -> Bool)?) {
        self.layerCount = layerCount; self.progress = progress; self.isCancelled = isCancelled
    }

    func timed<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        let t0 = Date()
        defer { seconds[name, default: 0] += Date().timeIntervalSince(t0) }
        return try body()
    }

    func check(_ phase: String, _ i: Int) throws {
        if isCancelled?() == true { throw PruneCancelled() }
        progress?(phase, i + 1, layerCount)
    }
}
