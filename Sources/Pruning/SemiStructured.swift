/// 2:4 helpers: blocks are 4 consecutive weight columns of one row, in full coordinates; a bias column
/// (the last one, when present) and a tail of fewer than 4 columns never form a block.
public enum SemiStructured {
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
