import Tensor

/// The global thresholds of method.md §5. Every function is deterministic; ties are broken by position.
public enum GlobalThreshold {
    /// Unstructured: `τ = sorted(all costs)[int(s·N)]` (clamped to the last index); prune every cost `≤ τ`.
    /// Returns `nil` when there are no costs.
    public static func unstructured(costs: [[Float]], sparsity s: Double) -> Float? {
        let n = costs.reduce(0) { $0 + $1.count }
        return kthSmallest(Int(s * Double(n)), in: costs)
    }

    /// 2:4: `τ = sorted(block costs)[min(int(2s·N_blocks), N_blocks − 1)]`; prune every block with cost `≤ τ`.
    public static func semiStructured(blockCosts: [[Float]], sparsity s: Double) -> Float? {
        let n = blockCosts.reduce(0) { $0 + $1.count }
        guard n > 0 else { return nil }
        return kthSmallest(min(Int(2 * s * Double(n)), n - 1), in: blockCosts)
    }

    /// `allocation: per_layer`: every matrix's own threshold, `unstructured` (or `semiStructured` on block costs)
    /// over that matrix alone, so that each reaches the shot's fraction by its own cheapest weights or blocks.
    public static func perLayer(costs: [[Float]], sparsity s: Double, semi24: Bool) -> [Float?] {
        costs.map { semi24 ? semiStructured(blockCosts: [$0], sparsity: s) : unstructured(costs: [$0], sparsity: s) }
    }

    /// Row and column costs of one matrix (full coordinates, dead ones at 0).
    public struct StructuredLayer: Sendable {
        public var rowCosts: [Float]  // (R)
        public var colCosts: [Float]  // (C)
        public init(rowCosts: [Float], colCosts: [Float]) { self.rowCosts = rowCosts; self.colCosts = colCosts }
        var R: Int { rowCosts.count }
        var C: Int { colCosts.count }
    }

    /// Structured rows + columns with the overlap-aware count `k_r·C + k_c·R − k_r·k_c` per layer, per-layer
    /// running maximum, `target = int(s·Σ R·C)`; `τ` is the cost at the last global position whose total is
    /// `≤ target`. Returns `-∞` (prune nothing) when even the first structure exceeds the target.
    public static func structured(_ layers: [StructuredLayer], sparsity s: Double) -> Float {
        struct Item { var cost: Float; var layer: Int32; var pos: Int32; var count: Int }
        var items: [Item] = []
        items.reserveCapacity(layers.reduce(0) { $0 + $1.R + $1.C })
        var total = 0
        for (l, layer) in layers.enumerated() {
            let R = layer.R, C = layer.C
            total += R * C
            // (cost, kind row=0/col=1, index) ascending
            var local: [(Float, Int, Int)] = []
            local.reserveCapacity(R + C)
            for r in 0..<R { local.append((sanitize(layer.rowCosts[r]), 0, r)) }
            for c in 0..<C { local.append((sanitize(layer.colCosts[c]), 1, c)) }
            local.sort { ($0.0, $0.1, $0.2) < ($1.0, $1.1, $1.2) }
            var kr = 0, kc = 0
            for (p, it) in local.enumerated() {
                if it.1 == 0 { kr += 1 } else { kc += 1 }
                items.append(Item(cost: it.0, layer: Int32(l), pos: Int32(p), count: kr * C + kc * R - kr * kc))
            }
        }
        items.sort { ($0.cost, $0.layer, $0.pos) < ($1.cost, $1.layer, $1.pos) }
        let target = Int(s * Double(total))
        var running = [Int](repeating: 0, count: layers.count)
        var removed = 0
        var tau = -Float.infinity
        for it in items {
            let l = Int(it.layer)
            let newCount = max(running[l], it.count)
            removed += newCount - running[l]
            running[l] = newCount
            if removed > target { break }
            tau = it.cost
        }
        return tau
    }

    /// Brute-force twin of `structured`: for each candidate τ (every distinct cost), count the removed
    /// parameters of `cost ≤ τ` exactly; returns the largest τ whose count is `≤ target` (no ties assumed).
    public static func structuredBruteForce(_ layers: [StructuredLayer], sparsity s: Double) -> Float {
        let total = layers.reduce(0) { $0 + $1.R * $1.C }
        let target = Int(s * Double(total))
        let candidates = Set(layers.flatMap { $0.rowCosts + $0.colCosts }).sorted()
        var best = -Float.infinity
        for t in candidates {
            if structuredCount(layers, tau: t) <= target { best = t } else { break }
        }
        return best
    }

    /// Parameters removed when every row/column with cost `≤ τ` is pruned (overlap counted once).
    public static func structuredCount(_ layers: [StructuredLayer], tau: Float) -> Int {
        var n = 0
        for l in layers {
            let kr = l.rowCosts.filter { sanitize($0) <= tau }.count
            let kc = l.colCosts.filter { sanitize($0) <= tau }.count
            n += kr * l.C + kc * l.R - kr * kc
        }
        return n
    }

    /// Coupled structures: sort by (cost, index); walking the order, the removed count grows by each structure's
    /// parameter count and, when `completes` says so, by extra parameters (a KV group whose last query head goes).
    /// `τ` is the cost at the last position whose total is `≤ int(s·total)`; `-∞` when nothing fits.
    /// - Parameters:
    ///   - sizes: parameters of each structure.
    ///   - groups: for each structure, the KV group it belongs to (or nil); `groupSizes[g]` extra parameters
    ///     removed once all `groupMembers[g]` structures are removed.
    public static func coupled(costs: [Float], sizes: [Int], group: [Int?], groupMembers: [Int], groupSizes: [Int],
                               totalParameters: Int, sparsity s: Double) -> Float {
        let order = costs.indices.sorted { (sanitize(costs[$0]), $0) < (sanitize(costs[$1]), $1) }
        let target = Int(s * Double(totalParameters))
        var left = groupMembers
        var removed = 0
        var tau = -Float.infinity
        for i in order {
            removed += sizes[i]
            if let g = group[i] {
                left[g] -= 1
                if left[g] == 0 { removed += groupSizes[g] }
            }
            if removed > target { break }
            tau = sanitize(costs[i])
        }
        return tau
    }

    @inline(__always) static func sanitize(_ x: Float) -> Float { x.isFinite ? x : 0 }
}
