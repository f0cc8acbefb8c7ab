import Foundation
import Tensor

// Kernels of the masked low-rank correction W_eff = W0 + M∘(B·A), M = (W0 ≠ 0): the adapter gradients
// from one Linear's input and output gradient, the in-place weight update when B, A change, and Adam.
// Each optimised kernel has a naive twin for the tests.

/// Adapter gradients of one Linear for one sequence:
/// `scratch (R, C) = M∘(gᵀ X)` (the masked weight gradient), `gradB (R, r) = scratch · Aᵀ`,
/// `gradA (r, C) = Bᵀ · scratch`. The mask is `weight ≠ 0` (the current weight: masked entries stay 0).
func lowRankGradients(_ gradB: UnsafeMutablePointer<Float>, _ gradA: UnsafeMutablePointer<Float>,
                      scratch: UnsafeMutablePointer<Float>,
                      _ gradOutput: UnsafePointer<Float>, _ input: UnsafePointer<Float>,
                      weight: UnsafePointer<Float>, b: UnsafePointer<Float>, a: UnsafePointer<Float>,
                      t: Int, rows: Int, cols: Int, rank: Int) {
    // scratch (R, C) = gᵀ (R, T) · X (T, C)
    sgemm(transA: true, m: rows, n: cols, k: t, gradOutput, lda: rows, input, ldb: cols, scratch, ldc: cols)
    for i in 0..<(rows * cols) where weight[i] == 0 { scratch[i] = 0 }
    // gradB (R, r) = scratch (R, C) · Aᵀ (C, r)
    sgemm(transB: true, m: rows, n: rank, k: cols, scratch, lda: cols, a, ldb: cols, gradB, ldc: rank)
    // gradA (r, C) = Bᵀ (r, R) · scratch (R, C)
    sgemm(transA: true, m: rank, n: cols, k: rows, b, lda: rank, scratch, ldb: cols, gradA, ldc: cols)
}

/// The naive twin of `lowRankGradients` (Double accumulation), for tests.
func lowRankGradientsNaive(gradOutput: [Float], input: [Float], weight: [Float], b: [Float], a: [Float],
                           t: Int, rows: Int, cols: Int, rank: Int) -> (gradB: [Float], gradA: [Float]) {
    var dw = [Double](repeating: 0, count: rows * cols)  // (R, C)
    for r in 0..<rows { for c in 0..<cols where weight[r * cols + c] != 0 {
        var s: Double = 0
        for i in 0..<t { s += Double(gradOutput[i * rows + r]) * Double(input[i * cols + c]) }
        dw[r * cols + c] = s
    } }
    var gb = [Float](repeating: 0, count: rows * rank), ga = [Float](repeating: 0, count: rank * cols)
    for r in 0..<rows { for k in 0..<rank {
        var s: Double = 0
        for c in 0..<cols { s += dw[r * cols + c] * Double(a[k * cols + c]) }
        gb[r * rank + k] = Float(s)
    } }
    for k in 0..<rank { for c in 0..<cols {
        var s: Double = 0
        for r in 0..<rows { s += Double(b[r * rank + k]) * dw[r * cols + c] }
        ga[k * cols + c] = Float(s)
    } }
    return (gb, ga)
}

/// Moves the weight from `W0 + M∘(B_old·A_old)` to `W0 + M∘(B_new·A_new)` in place:
/// `weight (R, C) += M∘([B_new, −B_old] · [A_new; A_old])`, one product of inner size `2r`.
/// `stackedB (R, 2r)` and `stackedA (2r, C)` are filled by the caller; `scratch (R, C)`.
func lowRankApply(_ weight: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                  stackedB: UnsafePointer<Float>, stackedA: UnsafePointer<Float>,
                  rows: Int, cols: Int, rank2: Int) {
    sgemm(m: rows, n: cols, k: rank2, stackedB, lda: rank2, stackedA, ldb: cols, scratch, ldc: cols)
    for i in 0..<(rows * cols) where weight[i] != 0 { weight[i] += scratch[i] }
}

/// The naive twin of `lowRankApply`: `weight + M∘(bNew·aNew − bOld·aOld)`, for tests.
func lowRankApplyNaive(weight: [Float], bNew: [Float], aNew: [Float], bOld: [Float], aOld: [Float],
                       rows: Int, cols: Int, rank: Int) -> [Float] {
    var out = weight
    for r in 0..<rows { for c in 0..<cols where weight[r * cols + c] != 0 {
        var s: Double = 0
        for k in 0..<rank {
            s += Double(bNew[r * rank + k]) * Double(aNew[k * cols + c]) - Double(bOld[r * rank + k]) * Double(aOld[k * cols + c])
        }
        out[r * cols + c] += Float(s)
    } }
    return out
}

/// One Adam step in place, as `torch.optim.Adam` (no weight decay): `m = β1 m + (1−β1) g`,
/// `v = β2 v + (1−β2) g²`, `p −= lr/(1−β1^t) · m / (√v/√(1−β2^t) + ε)`; `step` counts from 1.
func adamStep(_ param: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>,
              _ grad: UnsafePointer<Float>, count: Int, lr: Float, step: Int,
              beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8) {
    let bc1 = 1 - Float(pow(Double(beta1), Double(step)))
    let bc2 = Float(pow(Double(beta2), Double(step)))
    let stepSize = lr / bc1, rootBC2 = (1 - bc2).squareRoot()
    for i in 0..<count {
        let g = grad[i]
        m[i] = beta1 * m[i] + (1 - beta1) * g
        v[i] = beta2 * v[i] + (1 - beta2) * g * g
        param[i] -= stepSize * m[i] / (v[i].squareRoot() / rootBC2 + eps)
    }
}
