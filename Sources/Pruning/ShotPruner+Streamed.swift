import Foundation

extension ShotPruner {
    /// Structures the streamed mode prunes (the others need every layer's costs or structures at once).
    public static func streams(_ structure: PruneRequest.Structure) -> Bool { structure == .structured }

    /// One structured shot in the streamed mode of `MemoryPlan`: the layers are never held together. Pass 1
    /// builds each layer (weights and curvature from `layer(i)`), its inverses and its row/column costs, and
    /// keeps only the costs; the global threshold comes from those; pass 2 builds each layer again, removes
    /// what falls under the threshold with the same OBS update as `run`, and hands it to `store(i, layer)`.
    /// With an exact (`f32`) spill the result equals `run`'s (tested). With an `inverseStore`, pass 1 keeps the inverses of
    /// every factor that has a key there and pass 2 reads them back, so each is computed once.
    public static func runStreamed(count: Int, options: ShotOptions, inverseStore: FactorStore? = nil,
                                   layer: (Int) throws -> PrunableLayer,
                                   store: (Int, PrunableLayer) throws -> Void,
                                   progress: ((String, Int, Int) -> Void)? = nil,
                                   isCancelled: (() -> Bool)? = nil) throws -> ShotResult {
        let s = options.sparsity
        guard s >= 0, s < 1 else { throw PruningError.invalidSparsity(s) }
        guard streams(options.structure) else {
            throw PruningError.unsupported(method: options.method.rawValue, structure: "\(options.structure.rawValue) in the streamed mode (structured only)")
        }
        let ctx = ShotContext(layerCount: count, progress: progress, isCancelled: isCancelled)
        var zerosBefore = [Int](repeating: 0, count: count), zeros = zerosBefore, parameters = zerosBefore
        var costs: [GlobalThreshold.StructuredLayer] = []
        costs.reserveCapacity(count)

        // The inverses of a shared A serve every consecutive Linear that reads it.
        let cache = InverseCache(store: inverseStore)
        var sharedA: SymmetricFactor?
        func prepared(_ i: Int) throws -> (PrunableLayer, LayerState, zerosBefore: Int) {
            var l = try ctx.timed("factors") { try layer(i) }
            let z = l.zeros
            if let a = sharedA, a !== l.curvature.a { cache.drop(a) }
            sharedA = l.curvature.a
            let st = try ctx.timed("inverses") {
                try prepare(&l, method: options.method, dampG: options.dampG, dampA: options.dampA, cache: cache, factored: true)
            }
            return (l, st, z)
        }

        try ctx.timed("costs") {
            for i in 0..<count {
                try ctx.check("costs", i)
                let (l, st, _) = try prepared(i)
                cache.drop(l.curvature.g)
                let (r, c) = rowColumnCosts(l, st, method: options.method)
                costs.append(.init(rowCosts: r, colCosts: c))
            }
        }
        if let a = sharedA { cache.drop(a) }
        sharedA = nil
        var tau = -Float.infinity
        ctx.timed("threshold") { tau = GlobalThreshold.structured(costs, sparsity: s) }

        var quadratic = 0.0, selected = 0.0, refit = MaskedRefit.Outcome.none
        try ctx.timed("update") {
            for i in 0..<count {
                try ctx.check("update", i)
                var (l, st, z) = try prepared(i)
                cache.drop(l.curvature.g)
                zerosBefore[i] = z
                let d = try removeBelowThreshold(&l, st, costs[i], tau: tau, options: options, ctx: ctx)
                quadratic += d.quadratic; selected += d.selected; refit = refit + d.refit
                st.release()
                zeros[i] = l.zeros; parameters[i] = l.R * l.C
                try store(i, l)
            }
        }
        cache.removeAll()
        let diagnose = options.method == .llmSurgeon || options.method == .kobd
        var result = ShotResult(threshold: tau, zerosBefore: zerosBefore, zeros: zeros, parameters: parameters, seconds: ctx.seconds)
        result.quadraticModelIncrease = diagnose ? quadratic : nil
        result.selectedCost = diagnose ? selected : nil
        result.refit = options.refits ? refit : nil
        return result
    }
}
