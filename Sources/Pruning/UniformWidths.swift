/// The `--uniform` constraint of coupled pruning (issue 5): every decoder block keeps the same FFN width (removed
/// neurons a multiple of `multiple`), the same number of whole KV groups and the same number of query heads in
/// each kept group, so that a standard `config.json` describes the compact model. Within that constraint the choice
/// follows the same costs as the global threshold: of all (neurons, groups, heads per group) per block that remove
/// at least the target, the one whose removed structures cost least.
public enum UniformWidths {
    /// One decoder block's candidates.
    public struct Block: Sendable {
        /// OBS cost of each FFN neuron, and the parameters one neuron holds (gate row, up row, down column).
        public var neuronCosts: [Float]
        public var neuronSize: Int
        /// Cost of each KV group (the sum of its query heads' costs), and the parameters a group holds
        /// (its query heads' q rows and o columns, and its K and V rows).
        public var groupCosts: [Float]
        public var groupSize: Int
        /// Each KV group's query heads' costs, and the parameters one query head holds (q rows, o columns); empty:
        /// only whole groups are removed.
        public var headCosts: [[Float]]
        public var headSize: Int
        /// Which of those heads earlier shots already removed (they stay removed).
        public var headGone: [[Bool]]
        public init(neuronCosts: [Float], neuronSize: Int, groupCosts: [Float], groupSize: Int,
                    headCosts: [[Float]] = [], headSize: Int = 0, headGone: [[Bool]]? = nil) {
            self.neuronCosts = neuronCosts; self.neuronSize = neuronSize; self.groupCosts = groupCosts; self.groupSize = groupSize
            self.headCosts = headCosts; self.headSize = headSize
            self.headGone = headGone ?? headCosts.map { [Bool](repeating: false, count: $0.count) }
        }

        /// Query heads per group that may be removed from a kept group (one stays).
        var maxHeadsPerGroup: Int { (headCosts.map(\.count).min() ?? 1) - 1 }

        /// The groups removed whole and the heads removed from each kept group when `k` groups and `h` heads per
        /// kept group go: of all k-subsets, the one of least total cost (groups ordered by their cost minus the cost
        /// of their `h` cheapest heads; groups earlier shots emptied first), heads cheapest first (removed ones
        /// first). `nil` when an earlier shot removed more than `h` heads of a group that stays.
        func selection(groups k: Int, heads h: Int) -> (cost: Double, groups: [Int], heads: [[Int]])? {
            let n = groupCosts.count
            func headOrder(_ g: Int) -> [Int] {
                headCosts[g].indices.sorted { (headGone[g][$0] ? 0 : 1, GlobalThreshold.sanitize(headCosts[g][$0]), $0)
                                              < (headGone[g][$1] ? 0 : 1, GlobalThreshold.sanitize(headCosts[g][$1]), $1) }
            }
            let orders = h > 0 ? (0..<n).map(headOrder) : []
            func headPart(_ g: Int) -> Double { h > 0 ? orders[g].prefix(h).reduce(0.0) { $0 + Double(GlobalThreshold.sanitize(headCosts[g][$1])) } : 0 }
            let empty = (0..<n).map { g in g < headGone.count && !headGone[g].isEmpty && headGone[g].allSatisfy { $0 } }
            let key = (0..<n).map { Double(GlobalThreshold.sanitize(groupCosts[$0])) - headPart($0) }
            let order = (0..<n).sorted { (empty[$0] ? 0 : 1, key[$0], $0) < (empty[$1] ? 0 : 1, key[$1], $1) }
            let removed = Array(order.prefix(k)).sorted()
            let kept = (0..<n).filter { !removed.contains($0) }
            var heads: [[Int]] = Array(repeating: [], count: n)
            for g in kept {
                let gone = g < headGone.count ? headGone[g].filter { $0 }.count : 0
                if gone > h { return nil }
                if h > 0 { heads[g] = Array(orders[g].prefix(h)).sorted() }
            }
            let cost = removed.reduce(0.0) { $0 + Double(GlobalThreshold.sanitize(groupCosts[$1])) } + kept.reduce(0.0) { $0 + headPart($1) }
            return (cost, removed, heads)
        }
    }

    /// Neurons and KV groups removed in every block, and query heads removed from each kept group.
    public struct Choice: Sendable, Equatable {
        public var neurons: Int
        public var groups: Int
        public var heads: Int = 0
        public var removed: Int
        public var cost: Double
    }

    public struct Unreachable: Error, CustomStringConvertible, Equatable {
        public var sparsity: Double
        public var maximum: Double
        public var multiple: Int
        public var description: String {
            String(format: "--uniform cannot remove %.4f of the prunable parameters: equal widths in every layer (FFN a multiple of %d, at least %d neurons, one KV group and one query head per group kept per layer) remove at most %.4f. Ask for at most that, or prune without --uniform (per-layer widths, exported as GGUF).", sparsity, multiple, multiple, maximum)
        }
    }

    /// The cheapest uniform choice removing at least `sparsity · totalParameters` (among those within one FFN step
    /// of the smallest such removal), with at least `minNeurons` neurons and `minGroups` groups (what earlier
    /// shots removed; their removed heads are in `Block.headGone`) and at least `multiple` neurons, one KV group and
    /// one query head per group left in every block. Ties go to fewer removed parameters, then fewer groups, then
    /// fewer heads.
    public static func choose(blocks: [Block], totalParameters: Int, sparsity: Double, multiple: Int,
                              minNeurons: Int = 0, minGroups: Int = 0) throws -> Choice {
        let m = max(1, multiple)
        let target = Int((sparsity * Double(totalParameters)).rounded(.up))
        guard let ffn = blocks.map(\.neuronCosts.count).min(), let kv = blocks.map(\.groupCosts.count).min() else {
            throw Unreachable(sparsity: sparsity, maximum: 0, multiple: m)
        }
        let maxNeurons = max(0, ((ffn - m) / m) * m), maxGroups = max(0, kv - 1)
        let maxHeads = max(0, blocks.map(\.maxHeadsPerGroup).min() ?? 0)
        // Cumulative sorted costs per block: cheapest-k sums.
        func prefix(_ c: [Float]) -> [Double] {
            var out = [0.0]
            for x in c.map(GlobalThreshold.sanitize).sorted() { out.append(out.last! + Double(x)) }
            return out
        }
        let neuronSums = blocks.map { prefix($0.neuronCosts) }
        func removed(_ f: Int, _ k: Int, _ h: Int) -> Int {
            blocks.reduce(0) { $0 + f * $1.neuronSize + k * $1.groupSize + ($1.groupCosts.count - k) * h * $1.headSize }
        }
        func unreachable() -> Unreachable {
            Unreachable(sparsity: sparsity, maximum: Double(removed(maxNeurons, maxGroups, maxHeads)) / Double(max(totalParameters, 1)), multiple: m)
        }
        let f0 = ((max(0, minNeurons) + m - 1) / m) * m
        if f0 > maxNeurons || minGroups > maxGroups { throw unreachable() }
        // For each (groups, heads per kept group), the fewest neurons that reach the target.
        var candidates: [Choice] = []
        for k in max(0, minGroups)...maxGroups {
            for h in 0...maxHeads {
                let picks = blocks.map { $0.selection(groups: k, heads: h) }
                guard picks.allSatisfy({ $0 != nil }) else { continue }
                var f = f0
                while f < maxNeurons && removed(f, k, h) < target { f += m }
                let r = removed(f, k, h)
                guard r >= target else { continue }
                var cost = 0.0
                for b in blocks.indices { cost += neuronSums[b][f] + picks[b]!.cost }
                candidates.append(Choice(neurons: f, groups: k, heads: h, removed: r, cost: cost))
            }
        }
        // Costs only compare at (nearly) equal removal: a whole KV group per block is a coarse step, and removing
        // one where fewer neurons would do can look cheaper while overshooting the target by far. Candidates
        // within one FFN step (`multiple` neurons per block) of the smallest removal compete on cost.
        let step = blocks.reduce(0) { $0 + m * $1.neuronSize }
        let least = candidates.map(\.removed).min() ?? 0
        var best: Choice?
        for c in candidates where c.removed <= least + step {
            if let b = best, (b.cost, b.removed, b.groups, b.heads) <= (c.cost, c.removed, c.groups, c.heads) { continue }
            best = c
        }
        guard let best else { throw unreachable() }
        return best
    }

    /// Indices of the `n` cheapest entries (ties to the lower index).
    public static func cheapest(_ costs: [Float], _ n: Int) -> [Int] {
        Array(costs.indices.sorted { (GlobalThreshold.sanitize(costs[$0]), $0) < (GlobalThreshold.sanitize(costs[$1]), $1) }.prefix(n))
    }
}
