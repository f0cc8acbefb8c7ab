import Cluster
import Tensor

extension ShotPruner {
    /// Coupled structures (FFN neurons, attention heads): joint OBS cost per structure, global threshold over
    /// all their parameters, multi-column update of the matrices that read them (`outputs`, the default; the
    /// producing rows are zeroed) or multi-row/multi-column update of every member matrix (`members`).
    static func coupled(_ layers: inout [PrunableLayer], _ states: inout [LayerState], _ cache: InverseCache, options: ShotOptions,
                        part: LayerPartition, ctx: ShotContext) throws -> Float {
        let plan = options.coupling!
        let method = options.method
        var costs = [Float](repeating: 0, count: plan.structures.count)
        try ctx.timed("costs") {
            var axisOf = [Int: CouplingPlan.Axis]()
            for st in plan.structures { for m in st.members where options.coupledCost.counts(m) { axisOf[m.layer] = m.axis } }
            var products = [Int: [Float]]()
            if method == .llmSurgeon || method == .kobd {
                for (l, axis) in axisOf where part.owns(l) {
                    let layer = layers[l]
                    var tmp = [Float](repeating: 0, count: axis == .rows ? layer.R : layer.C)
                    products[l] = axis == .rows
                        ? rowQuadraticForms(&tmp, theta: layer.weight.data, m: layer.curvature.a.data, scale: 1, R: layer.R, C: layer.C)
                        : columnQuadraticForms(&tmp, theta: layer.weight.data, m: layer.curvature.g.data, scale: 1, R: layer.R, C: layer.C)
                }
            }
            // A structure lives inside one block, whose owner costs it; the others' zeros make the sum exact.
            for (i, st) in plan.structures.enumerated() where part.owns(st.members[0].layer) {
                var total = 0.0
                for m in st.members where options.coupledCost.counts(m) {
                    total += try memberCost(m, layers[m.layer], states[m.layer], product: products[m.layer] ?? [],
                                            method: method)
                }
                let c = method == .magnitude ? total.squareRoot() : total
                costs[i] = c.isFinite ? Float(c) : 0
            }
            if part.isDistributed { try part.communicator.allReduceSum(&costs) }
        }
        func size(_ m: CouplingPlan.Member) -> Int {
            m.indices.count * (m.axis == .rows ? layers[m.layer].C : layers[m.layer].R)
        }
        var tau = -Float.infinity
        var chosen: Set<Int>?
        if let multiple = options.uniformMultiple {
            try ctx.timed("threshold") {
                chosen = try uniformSelection(plan, costs: costs, layers: layers, sparsity: options.sparsity,
                                              multiple: multiple, size: size)
                tau = chosen!.map { GlobalThreshold.sanitize(costs[$0]) }.max() ?? -Float.infinity
            }
        } else {
            ctx.timed("threshold") {
                tau = GlobalThreshold.coupled(
                    costs: costs, sizes: plan.structures.map { $0.members.reduce(0) { $0 + size($1) } },
                    group: plan.structures.map(\.group), groupMembers: plan.groups.map(\.count),
                    groupSizes: plan.groups.map { $0.members.reduce(0) { $0 + size($1) } },
                    totalParameters: layers.reduce(0) { $0 + $1.R * $1.C }, sparsity: options.sparsity)
            }
        }
        try ctx.timed("update") {
            var rows = [Int: Set<Int>](), cols = [Int: Set<Int>]()
            func take(_ m: CouplingPlan.Member) {
                if m.axis == .rows { rows[m.layer, default: []].formUnion(m.indices) }
                else { cols[m.layer, default: []].formUnion(m.indices) }
            }
            var left = plan.groups.map(\.count)
            for (i, st) in plan.structures.enumerated() where chosen?.contains(i) ?? (costs[i] <= tau) {
                st.members.forEach(take)
                if let g = st.group { left[g] -= 1; if left[g] == 0 { plan.groups[g].members.forEach(take) } }
            }
            // Under `outputs` the producing rows are zeroed without an update (nothing reads them any more).
            let updatesRows = options.coupledCost == .members
            for i in layers.indices where part.owns(i) && (rows[i] != nil || cols[i] != nil) {
                try ctx.check("update", i)
                let r = (rows[i] ?? []).sorted(), c = (cols[i] ?? []).sorted()
                if updatesRows || !c.isEmpty {
                    try removeRowsAndColumns(&layers[i], states[i], rows: updatesRows ? r : [], cols: c, options: options)
                }
                if !updatesRows { layers[i].zero(rows: r) }
                states[i].release(); cache.release(layers[i].curvature)
            }
        }
        return tau
    }

    /// The `--uniform` selection: the same number of cheapest neurons, of cheapest whole KV groups and of cheapest
    /// query heads in each kept group in every block (UniformWidths), never fewer than earlier shots already zeroed.
    static func uniformSelection(_ plan: CouplingPlan, costs: [Float], layers: [PrunableLayer], sparsity: Double,
                                 multiple: Int, size: (CouplingPlan.Member) -> Int) throws -> Set<Int> {
        func isZero(_ m: CouplingPlan.Member) -> Bool {
            let l = layers[m.layer]
            return m.indices.allSatisfy { j in
                m.axis == .rows ? (0..<l.C).allSatisfy { l.weight.data[j * l.C + $0] == 0 }
                                : (0..<l.R).allSatisfy { l.weight.data[$0 * l.C + j] == 0 }
            }
        }
        func gone(_ i: Int) -> Bool { plan.structures[i].members.allSatisfy(isZero) }
        let u = uniformBlocks(plan, costs: costs, size: size, gone: gone)
        let m = max(multiple, 1)
        let minNeurons = u.neurons.map { $0.filter(gone).count / m * m }.min() ?? 0
        let minGroups = u.groupHeads.map { $0.filter { $0.allSatisfy(gone) }.count }.min() ?? 0
        let choice = try UniformWidths.choose(blocks: u.blocks, totalParameters: layers.reduce(0) { $0 + $1.R * $1.C },
                                              sparsity: sparsity, multiple: multiple, minNeurons: minNeurons, minGroups: minGroups)
        var out = Set<Int>()
        for b in u.blocks.indices {
            for j in UniformWidths.cheapest(u.blocks[b].neuronCosts, choice.neurons) { out.insert(u.neurons[b][j]) }
            guard let pick = u.blocks[b].selection(groups: choice.groups, heads: choice.heads) else { continue }  // feasible: chosen above
            for g in pick.groups { out.formUnion(u.groupHeads[b][g]) }
            for (g, heads) in pick.heads.enumerated() { for h in heads { out.insert(u.groupHeads[b][g][h]) } }
        }
        return out
    }

    /// Per decoder block: its neurons (structure indices), its KV groups' query heads, and the candidates with
    /// their costs and parameter counts (`gone`: structures earlier shots removed).
    static func uniformBlocks(_ plan: CouplingPlan, costs: [Float], size: (CouplingPlan.Member) -> Int,
                              gone: (Int) -> Bool = { _ in false })
        -> (blocks: [UniformWidths.Block], neurons: [[Int]], groupHeads: [[[Int]]]) {
        var neurons = [Int: [Int]](), heads = [Int: [Int]]()  // block → structure indices
        for (i, st) in plan.structures.enumerated() {
            if st.kind == .neuron { neurons[st.block, default: []].append(i) } else { heads[st.block, default: []].append(i) }
        }
        func params(_ i: Int) -> Int { plan.structures[i].members.reduce(0) { $0 + size($1) } }
        var blocks: [UniformWidths.Block] = [], ns: [[Int]] = [], gh: [[[Int]]] = []
        for b in Set(plan.structures.map(\.block)).sorted() {
            let n = neurons[b] ?? []
            var byGroup = [Int: [Int]]()
            for i in heads[b] ?? [] { byGroup[plan.structures[i].group ?? -1 - i, default: []].append(i) }
            let groups = byGroup.keys.sorted().map { byGroup[$0]! }
            let groupSize = groups.first.map { hs in
                hs.reduce(0) { $0 + params($1) } + (plan.structures[hs[0]].group.map { plan.groups[$0].members.reduce(0) { $0 + size($1) } } ?? 0)
            } ?? 0
            blocks.append(UniformWidths.Block(
                neuronCosts: n.map { costs[$0] }, neuronSize: n.first.map(params) ?? 0,
                groupCosts: groups.map { $0.reduce(Float(0)) { $0 + GlobalThreshold.sanitize(costs[$1]) } }, groupSize: groupSize,
                headCosts: groups.map { $0.map { costs[$0] } }, headSize: groups.first?.first.map(params) ?? 0,
                headGone: groups.map { $0.map(gone) }))
            ns.append(n); gh.append(groups)
        }
        return (blocks, ns, gh)
    }

    /// Throws `UniformWidths.Unreachable` when no uniform widths reach `sparsity` (checked before any shot).
    public static func checkUniform(_ plan: CouplingPlan, shapes: [(rows: Int, cols: Int)], sparsity: Double, multiple: Int) throws {
        func size(_ m: CouplingPlan.Member) -> Int { m.indices.count * (m.axis == .rows ? shapes[m.layer].cols : shapes[m.layer].rows) }
        let u = uniformBlocks(plan, costs: [Float](repeating: 0, count: plan.structures.count), size: size)
        _ = try UniformWidths.choose(blocks: u.blocks, totalParameters: shapes.reduce(0) { $0 + $1.rows * $1.cols },
                                     sparsity: sparsity, multiple: multiple)
    }
}
