/// Wanda (Sun et al. 2023): score `|W_rc|·‖x_c‖₂`, compared within each output row; no weight update.
public enum Wanda {
    /// The mask of one matrix. `aDiag[c]` is the mean of `x_c²` (the diagonal of `A`; its scale does not matter).
    /// Unstructured: in every row the `int(C·s)` lowest scores (ties by column). 2:4: in every 4-block of the
    /// weight columns the 2 lowest, whatever `s` (Wanda's N:M mode). // theta: (R, C) → mask (R, C)
    public static func mask(theta: [Float], aDiag: [Float], R: Int, C: Int, sparsity s: Double,
                            semi24: Bool, weightColumns: Int) -> [Bool] {
        let norms = aDiag.map { ($0 > 0 ? $0 : 0).squareRoot() }
        var score = [Float](repeating: 0, count: R * C)  // (R, C)
        for r in 0..<R { for c in 0..<C { score[r * C + c] = abs(theta[r * C + c]) * norms[c] } }
        var mask = [Bool](repeating: false, count: R * C)
        if semi24 {
            SemiStructured.mark(&mask, elementCosts: score, blockCosts: [], tau: nil, R: R, C: C, weightColumns: weightColumns)
            return mask
        }
        let k = Int(Double(C) * s)
        guard k > 0 else { return mask }
        for r in 0..<R {
            let base = r * C
            let order = (0..<C).sorted { (score[base + $0], $0) < (score[base + $1], $1) }
            for c in order.prefix(k) { mask[base + c] = true }
        }
        return mask
    }
}
