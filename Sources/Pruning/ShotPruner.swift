import Foundation
import Tensor

/// One shot of pruning over every prunable matrix (method.md §1 inner loop): costs for all layers, one global
/// threshold, then per-layer OBS updates and masks. The curvature must already be estimated on the current model.
public enum ShotPruner {
    /// Prunes `layers` to the target sparsity `options.sparsity` in place.
    /// - Parameters:
    ///   - progress: called with (phase, layer 1-based, layer count) as layers are walked.
    ///   - isCancelled: checked between layers; when it returns true, `PruneCancelled` is thrown.
    public static func run(_ layers: inout [PrunableLayer], options: ShotOptions,
                           progress: ((String, Int, Int) -> Void)? = nil,
                           isCancelled: (() -> Bool)? = nil) throws -> ShotResult {
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
        try ctx.timed("costs") {
            for i in layers.indices {
                try ctx.check("costs", i)
                cache.register(layers[i].curvature)
                let st = try ctx.timed("inverses") {
                    try prepare(&layers[i], method: method, dampG: options.dampG, dampA: options.dampA, cache: cache,
                                factored: structure == .structured || structure == .coupled)
                }
                states.append(st)
            }
        }
        var tau: Float? = nil
        switch (method, structure) {
        case (.wanda, _), (.sparsegpt, _):
            try ctx.timed("update") {
                for i in layers.indices {
                    try ctx.check("update", i)
                    try perLayerBaseline(&layers[i], method: method, sparsity: s, semi24: structure == .semi24)
                }
            }
        case (_, .unstructured), (_, .semi24):
            tau = try elementwise(&layers, &states, cache, options: options, ctx: ctx)
        case (_, .structured):
            tau = try rowsAndColumns(&layers, &states, cache, options: options, ctx: ctx)
        case (_, .coupled):
            tau = try coupled(&layers, &states, cache, options: options, ctx: ctx)
        }
        states.removeAll()
        cache.removeAll()
        return ShotResult(threshold: tau, zerosBefore: zerosBefore, zeros: layers.map(\.zeros), parameters: layers.map { $0.R * $0.C }, seconds: ctx.seconds)
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
                            ctx: ShotContext) throws -> Float? {
        let semi = options.structure == .semi24
        var costs: [[Float]] = [], blocks: [[Float]] = []
        ctx.timed("costs") {
            for i in layers.indices {
                costs.append(elementCosts(layers[i], states[i], method: options.method))
                if semi {
                    blocks.append(SemiStructured.blockCosts(elementCosts: costs[i], R: layers[i].R, C: layers[i].C,
                                                            weightColumns: layers[i].weightColumns))
                }
            }
        }
        var tau: Float? = nil
        ctx.timed("threshold") {
            tau = semi ? GlobalThreshold.semiStructured(blockCosts: blocks, sparsity: options.sparsity)
                       : GlobalThreshold.unstructured(costs: costs, sparsity: options.sparsity)
        }
        guard let t = tau else { return nil }
        try ctx.timed("update") {
            for i in layers.indices {
                try ctx.check("update", i)
                let l = layers[i]
                var mask = [Bool](repeating: false, count: l.R * l.C)
                if semi {
                    SemiStructured.mark(&mask, elementCosts: costs[i], blockCosts: blocks[i], tau: t, R: l.R, C: l.C,
                                        weightColumns: l.weightColumns)
                } else {
                    costs[i].withUnsafeBufferPointer { p in for j in 0..<p.count where p[j] <= t { mask[j] = true } }
                }
                costs[i] = []
                if options.method == .llmSurgeon {
                    try CorrelatedUpdate.apply(theta: &layers[i].weight, mask: mask, live: states[i].live,
                                               ginv: states[i].ginv.full(), ainv: states[i].ainv.full(),
                                               maxCorrelate: options.maxCorrelate, layer: l.name)
                    states[i].release(); cache.release(layers[i].curvature)
                } else {
                    for j in mask.indices where mask[j] { layers[i].weight.data[j] = 0 }
                }
            }
        }
        return t
    }

    static func rowsAndColumns(_ layers: inout [PrunableLayer], _ states: inout [LayerState], _ cache: InverseCache, options: ShotOptions,
                               ctx: ShotContext) throws -> Float {
        var costs: [GlobalThreshold.StructuredLayer] = []
        ctx.timed("costs") {
            for i in layers.indices {
                let (r, c) = rowColumnCosts(layers[i], states[i], method: options.method)
                costs.append(.init(rowCosts: r, colCosts: c))
            }
        }
        var tau = -Float.infinity
        ctx.timed("threshold") { tau = GlobalThreshold.structured(costs, sparsity: options.sparsity) }
        try ctx.timed("update") {
            for i in layers.indices {
                try ctx.check("update", i)
                let rows = costs[i].rowCosts.indices.filter { costs[i].rowCosts[$0] <= tau }
                let cols = costs[i].colCosts.indices.filter { costs[i].colCosts[$0] <= tau }
                try removeRowsAndColumns(&layers[i], states[i], rows: rows, cols: cols, options: options)
                states[i].release(); cache.release(layers[i].curvature)
            }
        }
        return tau
    }

    static func removeRowsAndColumns(_ layer: inout PrunableLayer, _ st: LayerState, rows: [Int], cols: [Int],
                                     options: ShotOptions) throws {
        if options.method == .llmSurgeon {
            try StructuredUpdate.apply(theta: &layer.weight, rows: rows, cols: cols, live: st.live, ginv: st.ginv,
                                       ainv: st.ainv, order: options.structuredOrder,
                                       groupSize: options.structuredGroupSize, layer: layer.name)
        } else {
            let C = layer.C
            for r in rows { for c in 0..<C { layer.weight.data[r * C + c] = 0 } }
            for c in cols { for r in 0..<layer.R { layer.weight.data[r * C + c] = 0 } }
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
