/// The `--uniform` constraint of coupled pruning (issue 5): every decoder block keeps the same FFN width (removed
/// neurons a multiple of `multiple`) and the same number of whole KV groups, so that a standard `config.json`
/// describes the compact model. Within that constraint the choice follows the same costs as the global threshold:
/// of all (neurons, groups) per block that remove at least the target, the one whose removed structures cost least.
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
        public init(neuronCosts: [Float], neuronSize: Int, groupCosts: [Float], groupSize: Int) {
            self.neuronCosts = neuronCosts; self.neuronSize = neuronSize; self.groupCosts = groupCosts; self.groupSize = groupSize
        }
    }

    /// Neurons and KV groups removed in every block.
    public struct Choice: Sendable, Equatable {
        public var neurons: Int
        public var groups: Int
        public var removed: Int
        public var cost: Double
    }

    public struct Unreachable: Error, CustomStringConvertible, Equatable {
        public var sparsity: Double
        public var maximum: Double
        public var multiple: Int
        public var description: String {
            String(format: "--uniform cannot remove %.4f of the prunable parameters: equal widths in every layer (FFN a multiple of %d, at least %d neurons and one KV group kept per layer) remove at most %.4f. Ask for at most that, or prune without --uniform (per-layer widths, exported as GGUF).", sparsity, multiple, multiple, maximum)
        }
    }

    /// The cheapest uniform choice removing at least `sparsity · totalParameters` (among those within one FFN step
    /// of the smallest such removal), with at least `minNeurons`
    /// neurons and `minGroups` groups (what earlier shots removed) and at least `multiple` neurons and one KV
    /// group left in every block. Ties go to fewer removed parameters, then fewer groups.
    public static func choose(blocks: [Block], totalParameters: Int, sparsity: Double, multiple: Int,
                              minNeurons: Int = 0, minGroups: Int = 0) throws -> Choice {
        let m = max(1, multiple)
        let target = Int((sparsity * Double(totalParameters)).rounded(.up))
        guard let ffn = blocks.map(\.neuronCosts.count).min(), let kv = blocks.map(\.groupCosts.count).min() else {
            throw Unreachable(sparsity: sparsity, maximum: 0, multiple: m)
        }
        let maxNeurons = max(0, ((ffn - m) / m) * m), maxGroups = max(0, kv - 1)
        // Cumulative sorted costs per block: cheapest-k sums.
        func prefix(_ c: [Float]) -> [Double] {
            var out = [0.0]
            for x in c.map(GlobalThreshold.sanitize).sorted() { out.append(out.last! + Double(x)) }
            return out
        }
        let neuronSums = blocks.map { prefix($0.neuronCosts) }, groupSums = blocks.map { prefix($0.groupCosts) }
        func removed(_ f: Int, _ k: Int) -> Int { blocks.reduce(0) { $0 + f * $1.neuronSize + k * $1.groupSize } }
        let f0 = ((max(0, minNeurons) + m - 1) / m) * m
        if f0 > maxNeurons || minGroups > maxGroups { throw Unreachable(sparsity: sparsity, maximum: Double(removed(maxNeurons, maxGroups)) / Double(max(totalParameters, 1)), multiple: m) }
        // For each group count, the fewest neurons that reach the target.
        var candidates: [Choice] = []
        for k in max(0, minGroups)...maxGroups {
            var f = f0
            while f < maxNeurons && removed(f, k) < target { f += m }
            let r = removed(f, k)
            guard r >= target else { continue }
            var cost = 0.0
            for b in blocks.indices { cost += neuronSums[b][f] + groupSums[b][k] }
            candidates.append(Choice(neurons: f, groups: k, removed: r, cost: cost))
        }
        // Costs only compare at (nearly) equal removal: a whole KV group per block is a coarse step, and removing
        // one where fewer neurons would do can look cheaper while overshooting the target by far. Candidates
        // within one FFN step (`multiple` neurons per block) of the smallest removal compete on cost.
        let step = blocks.reduce(0) { $0 + m * $1.neuronSize }
        let least = candidates.map(\.removed).min() ?? 0
        var best: Choice?
        for c in candidates where c.removed <= least + step {
            if let b = best, (b.cost, b.removed, b.groups) <= (c.cost, c.removed, c.groups) { continue }
            best = c
        }
        guard let best else {
            throw Unreachable(sparsity: sparsity, maximum: Double(removed(maxNeurons, maxGroups)) / Double(max(totalParameters, 1)), multiple: m)
        }
        return best
    }

    /// Indices of the `n` cheapest entries (ties to the lower index).
    public static func cheapest(_ costs: [Float], _ n: Int) -> [Int] {
        Array(costs.indices.sorted { (GlobalThreshold.sanitize(costs[$0]), $0) < (GlobalThreshold.sanitize(costs[$1]), $1) }.prefix(n))
    }
}
