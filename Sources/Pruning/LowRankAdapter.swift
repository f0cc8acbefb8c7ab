import Foundation
import Model
import Tensor

/// One rank-r adapter on a prunable Linear: `W_eff = W0 + M∘(B·A)` with `M = (W0 ≠ 0)`, B zero-initialised,
/// A Gaussian. The model's weight always holds `W_eff`, so no copy of `W0` is kept: each step moves the
/// weight by `M∘(B_new A_new − B_old A_old)`, and masked entries stay exactly zero. The bias is not adapted.
///
/// Honest limit: an unmasked weight that lands on exactly 0.0 is frozen there for the rest of the tune
/// (it then counts as pruned); this needs an exact floating-point cancellation and only adds a zero.
final class LowRankAdapter {
    let id: LinearID
    let rows: Int, cols: Int, rank: Int
    /// (R, r)
    var b: [Float]
    /// (r, C)
    var a: [Float]
    /// (R, r), (r, C): gradients of the last sequence.
    var gradB: [Float], gradA: [Float]
    /// Adam moments of B and A.
    var mB: [Float], vB: [Float], mA: [Float], vA: [Float]
    /// Whether the gradients hold this sequence's values (a Linear whose output gets no gradient is not visited).
    var visited = false

    init(id: LinearID, rows: Int, cols: Int, rank: Int, initScale: Double, rng: inout PythonRandom) {
        self.id = id; self.rows = rows; self.cols = cols; self.rank = rank
        b = [Float](repeating: 0, count: rows * rank)
        a = (0..<(rank * cols)).map { _ in Float(rng.gauss() * initScale) }
        gradB = b; gradA = [Float](repeating: 0, count: rank * cols)
        mB = b; vB = b; mA = gradA; vA = gradA
    }

    var parameterCount: Int { b.count + a.count }

    /// Fills `gradB`, `gradA` from the Linear's input `(T, C)` and output gradient `(T, R)`.
    func accumulateGradients(input: UnsafeBufferPointer<Float>, gradOutput: UnsafeBufferPointer<Float>,
                             weight: UnsafeBufferPointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let t = input.count / cols
        b.withUnsafeBufferPointer { pb in a.withUnsafeBufferPointer { pa in
        gradB.withUnsafeMutableBufferPointer { gb in gradA.withUnsafeMutableBufferPointer { ga in
            lowRankGradients(gb.baseAddress!, ga.baseAddress!, scratch: scratch, gradOutput.baseAddress!, input.baseAddress!,
                             weight: weight.baseAddress!, b: pb.baseAddress!, a: pa.baseAddress!,
                             t: t, rows: rows, cols: cols, rank: rank)
        } } } }
        visited = true
    }

    /// One Adam step on B and A (at `lr`, step number `step` ≥ 1), then the weight moves to the new product.
    func step(weight: inout [Float], lr: Float, step: Int, scratch: UnsafeMutablePointer<Float>) {
        guard visited else { return }
        let oldB = b, oldA = a
        b.withUnsafeMutableBufferPointer { p in mB.withUnsafeMutableBufferPointer { m in vB.withUnsafeMutableBufferPointer { v in
            gradB.withUnsafeBufferPointer { g in
                adamStep(p.baseAddress!, m.baseAddress!, v.baseAddress!, g.baseAddress!, count: p.count, lr: lr, step: step)
            } } } }
        a.withUnsafeMutableBufferPointer { p in mA.withUnsafeMutableBufferPointer { m in vA.withUnsafeMutableBufferPointer { v in
            gradA.withUnsafeBufferPointer { g in
                adamStep(p.baseAddress!, m.baseAddress!, v.baseAddress!, g.baseAddress!, count: p.count, lr: lr, step: step)
            } } } }
        move(weight: &weight, fromB: oldB, fromA: oldA, scratch: scratch)
        visited = false
    }

    /// `weight += M∘(B·A − fromB·fromA)`: the weight goes from the old adapter product to the current one.
    func move(weight: inout [Float], fromB: [Float], fromA: [Float], scratch: UnsafeMutablePointer<Float>) {
        let r2 = 2 * rank
        var sb = [Float](repeating: 0, count: rows * r2)  // (R, 2r) = [B, −fromB]
        for r in 0..<rows { for k in 0..<rank {
            sb[r * r2 + k] = b[r * rank + k]
            sb[r * r2 + rank + k] = -fromB[r * rank + k]
        } }
        let sa = a + fromA  // (2r, C) = [A; fromA]
        weight.withUnsafeMutableBufferPointer { w in sb.withUnsafeBufferPointer { pb in sa.withUnsafeBufferPointer { pa in
            lowRankApply(w.baseAddress!, scratch: scratch, stackedB: pb.baseAddress!, stackedA: pa.baseAddress!,
                         rows: rows, cols: cols, rank2: r2)
        } } }
    }
}

extension PythonRandom {
    /// `random.random()`: 53 random bits in [0, 1), as CPython builds them from two 32-bit outputs.
    mutating func uniform() -> Double {
        let a = Double(nextUInt32() >> 5), b = Double(nextUInt32() >> 6)
        return (a * 67_108_864 + b) * (1.0 / 9_007_199_254_740_992)
    }

    /// A standard normal draw (Box–Muller on two `uniform()` values; not CPython's `gauss` stream).
    mutating func gauss() -> Double {
        let u1 = 1 - uniform(), u2 = uniform()  // u1 in (0, 1]
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// Fisher–Yates shuffle of `0..<n` with `randbelow` (CPython's `random.shuffle` order).
    mutating func permutation(_ n: Int) -> [Int] {
        var x = Array(0..<n)
        var i = n - 1
        while i > 0 {
            let j = randbelow(i + 1)
            x.swapAt(i, j)
            i -= 1
        }
        return x
    }
}
