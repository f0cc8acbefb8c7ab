import Tensor

extension ShotPruner {
    /// Coupled structures (FFN neurons, attention heads): joint OBS cost per structure, global threshold over
    /// all their parameters, multi-row/multi-column update of every member matrix.
    static func coupled(_ layers: inout [PrunableLayer], _ states: inout [LayerState], _ cache: InverseCache, options: ShotOptions,
                        ctx: ShotContext) throws -> Float {
        let plan = options.coupling!
        let method = options.method
        var costs = [Float](repeating: 0, count: plan.structures.count)
        try ctx.timed("costs") {
            var axisOf = [Int: CouplingPlan.Axis]()
            for st in plan.structures { for m in st.members { axisOf[m.layer] = m.axis } }
            var products = [Int: [Float]]()
            if method == .llmSurgeon || method == .kobd {
                for (l, axis) in axisOf {
                    let layer = layers[l]
                    var tmp = [Float](repeating: 0, count: axis == .rows ? layer.R : layer.C)
                    products[l] = axis == .rows
                        ? rowQuadraticForms(&tmp, theta: layer.weight.data, m: layer.curvature.a.data, scale: 1, R: layer.R, C: layer.C)
                        : columnQuadraticForms(&tmp, theta: layer.weight.data, m: layer.curvature.g.data, scale: 1, R: layer.R, C: layer.C)
                }
            }
            for (i, st) in plan.structures.enumerated() {
                var total = 0.0
                for m in st.members {
                    total += try memberCost(m, layers[m.layer], states[m.layer], product: products[m.layer] ?? [],
                                            method: method)
                }
                let c = method == .magnitude ? total.squareRoot() : total
                costs[i] = c.isFinite ? Float(c) : 0
            }
        }
        func size(_ m: CouplingPlan.Member) -> Int {
            m.indices.count * (m.axis == .rows ? layers[m.layer].C : layers[m.layer].R)
        }
        var tau = -Float.infinity
        ctx.timed("threshold") {
            tau = GlobalThreshold.coupled(
                costs: costs, sizes: plan.structures.map { $0.members.reduce(0) { $0 + size($1) } },
                group: plan.structures.map(\.group), groupMembers: plan.groups.map(\.count),
                groupSizes: plan.groups.map { $0.members.reduce(0) { $0 + size($1) } },
                totalParameters: layers.reduce(0) { $0 + $1.R * $1.C }, sparsity: options.sparsity)
        }
        try ctx.timed("update") {
            var rows = [Int: Set<Int>](), cols = [Int: Set<Int>]()
            func take(_ m: CouplingPlan.Member) {
                if m.axis == .rows { rows[m.layer, default: []].formUnion(m.indices) }
                else { cols[m.layer, default: []].formUnion(m.indices) }
            }
            var left = plan.groups.map(\.count)
            for (i, st) in plan.structures.enumerated() where costs[i] <= tau {
                st.members.forEach(take)
                if let g = st.group { left[g] -= 1; if left[g] == 0 { plan.groups[g].members.forEach(take) } }
            }
            for i in layers.indices where rows[i] != nil || cols[i] != nil {
                try ctx.check("update", i)
                try removeRowsAndColumns(&layers[i], states[i], rows: (rows[i] ?? []).sorted(),
                                         cols: (cols[i] ?? []).sorted(), options: options)
                states[i].release(); cache.release(layers[i].curvature)
            }
        }
        return tau
    }
}
