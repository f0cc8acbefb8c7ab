/// 2:4 helpers: blocks are 4 consecutive weight columns of one row, in full coordinates; a bias column
/// (the last one, when present) and a tail of fewer than 4 columns never form a block.
public enum SemiStructured {
    /// How LLM Surgeon scores a 2:4 block: `sum` of its two cheapest single-weight OBS costs (the paper's), or the
    /// `joint` OBS cost of removing the pair together, minimised over the block's six pairs.
    public enum PairCost: String, Codable, Sendable, CaseIterable { case sum, joint }

    /// Indices (0..<4) of the two cheapest elements of a block, ties broken by column index.
    @inline(__always)
    public static func twoCheapest(_ c0: Float, _ c1: Float, _ c2: Float, _ c3: Float) -> (Int, Int) {
        let c = [c0, c1, c2, c3]
        var idx = [0, 1, 2, 3]
        idx.sort { (c[$0], $0) < (c[$1], $1) }
        return idx[0] < idx[1] ? (idx[0], idx[1]) : (idx[1], idx[0])
    }

    /// Number of 4-blocks per row when `weightColumns` columns are weights.
    public static func blocksPerRow(weightColumns: Int) -> Int { weightColumns / 4 }

    /// Block cost = sum of the two smallest element costs. // costs: (R, C) → (R, C_w/4)
    public static func blockCosts(elementCosts: [Float], R: Int, C: Int, weightColumns: Int) -> [Float] {
        let nb = blocksPerRow(weightColumns: weightColumns)
        var out = [Float](repeating: 0, count: R * nb)
        elementCosts.withUnsafeBufferPointer { e in
            for r in 0..<R { for b in 0..<nb {
                let p = r * C + 4 * b
                let (i, j) = twoCheapest(e[p], e[p + 1], e[p + 2], e[p + 3])
                out[r * nb + b] = e[p + i] + e[p + j]
            } }
        }
        return out
    }

    /// Marks the two cheapest elements of every block whose cost is `≤ τ` (or of every block when `tau` is nil).
    /// // mask, elementCosts: (R, C); blockCosts: (R, C_w/4)
    public static func mark(_ mask: inout [Bool], elementCosts: [Float], blockCosts: [Float], tau: Float?,
                            R: Int, C: Int, weightColumns: Int) {
        let nb = blocksPerRow(weightColumns: weightColumns)
        for r in 0..<R { for b in 0..<nb {
            if let tau, !(blockCosts[r * nb + b] <= tau) { continue }
            let p = r * C + 4 * b
            let (i, j) = twoCheapest(elementCosts[p], elementCosts[p + 1], elementCosts[p + 2], elementCosts[p + 3])
            mask[p + i] = true; mask[p + j] = true
        } }
    }

    /// The six ways to remove two of a block's four weights, as (first, second) offsets.
    static let pairs: [(Int, Int)] = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]

    /// LLM Surgeon's joint block costs (`pair_cost: joint`): for each block, the OBS cost of removing two of its
    /// weights *together*, `½·u_r·[θ_j θ_k]·B⁻¹·[θ_j θ_k]ᵀ` with `B` the 2×2 block of `A⁻¹` at columns j, k and
    /// `u_r = κ / G⁻¹_rr` (the element cost `½·u_r·θ²/A⁻¹_jj` is its one-weight case), minimised over the six
    /// pairs. Returns the block costs (R, C_w/4) and the chosen pair of each block (an index into `pairs`).
    /// `ainv` is the damped inverse of the live columns `liveCols` (kc × kc); a dead column's weight is zero and
    /// its pair costs the other element's single cost.
    public static func jointBlockCosts(theta: [Float], u: [Float], ainv: [Float], liveCols: [Int], R: Int, C: Int,
                                       weightColumns: Int) -> (costs: [Float], pairs: [UInt8]) {
        let nb = blocksPerRow(weightColumns: weightColumns), kc = liveCols.count
        var liveIndex = [Int](repeating: -1, count: C)
        for (j, c) in liveCols.enumerated() { liveIndex[c] = j }
        var costs = [Float](repeating: 0, count: R * nb), chosen = [UInt8](repeating: 0, count: R * nb)
        for b in 0..<nb {
            // A⁻¹ entries of the block's columns (0 where dead), shared by every row.
            var m = [[Double]](repeating: [0, 0, 0, 0], count: 4)
            for x in 0..<4 { for y in 0..<4 {
                let lx = liveIndex[4 * b + x], ly = liveIndex[4 * b + y]
                if lx >= 0, ly >= 0 { m[x][y] = Double(ainv[lx * kc + ly]) }
            } }
            for r in 0..<R {
                let p = r * C + 4 * b
                let ur = 0.5 * Double(u[r])
                var best = Double.infinity, bestPair = 0
                for (k, (x, y)) in pairs.enumerated() {
                    let tx = Double(theta[p + x]), ty = Double(theta[p + y])
                    let a = m[x][x], d = m[y][y], o = m[x][y]
                    var q: Double
                    if a > 0, d > 0 {
                        let det = a * d - o * o
                        q = det > 1e-12 * a * d ? (tx * tx * d - 2 * tx * ty * o + ty * ty * a) / det : tx * tx / a + ty * ty / d
                    } else {
                        q = (a > 0 ? tx * tx / a : 0) + (d > 0 ? ty * ty / d : 0)
                    }
                    q *= ur
                    if !q.isFinite { q = 0 }
                    if q < best { best = q; bestPair = k }
                }
                costs[r * nb + b] = Float(best); chosen[r * nb + b] = UInt8(bestPair)
            }
        }
        return (costs, chosen)
    }

    /// Marks the chosen pair of every block whose cost is `≤ τ` (the joint costs' counterpart of `mark`).
    public static func mark(_ mask: inout [Bool], pairs chosen: [UInt8], blockCosts: [Float], tau: Float, R: Int, C: Int,
                            weightColumns: Int) {
        let nb = blocksPerRow(weightColumns: weightColumns)
        for r in 0..<R { for b in 0..<nb where blockCosts[r * nb + b] <= tau {
            let (x, y) = pairs[Int(chosen[r * nb + b])]
            mask[r * C + 4 * b + x] = true; mask[r * C + 4 * b + y] = true
        } }
    }

    /// True when every row has at most 2 non-zeros in each of its 4-blocks.
    public static func isValid(_ theta: [Float], R: Int, C: Int, weightColumns: Int) -> Bool {
        let nb = blocksPerRow(weightColumns: weightColumns)
        for r in 0..<R { for b in 0..<nb {
            let p = r * C + 4 * b
            var nz = 0
            for k in 0..<4 where theta[p + k] != 0 { nz += 1 }
            if nz > 2 { return false }
        } }
        return true
    }
}
