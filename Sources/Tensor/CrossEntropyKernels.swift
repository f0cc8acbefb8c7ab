import Foundation

/// Log-softmax cross-entropy over rows of logits, forward beside backward.

/// For each row of `logits (N, V)`: the log-probability of `targets[i]` (skipped when negative)
/// into `logProbs (N)`. `logits` is consumed: with `grad` it is overwritten with
/// `gradScale · (softmax − onehot(target))` (zero for rows without a target), otherwise with scratch.
@inlinable
public func crossEntropyRows(_ logProbs: UnsafeMutablePointer<Float>, _ logits: UnsafeMutablePointer<Float>,
                             targets: UnsafePointer<Int>, n: Int, vocab: Int, grad: Bool, gradScale: Float) {
    for i in 0..<n {
        let row = logits + i * vocab
        let m = maxElement(row, count: vocab)
        let tgt = targets[i]
        let targetLogit = tgt >= 0 ? row[tgt] : 0
        // the row is consumed: it becomes exp(logit − m) (vectorised), then the gradient
        let lse = m + logf(expShifted(row, row, count: vocab, shift: m))
        logProbs[i] = tgt >= 0 ? targetLogit - lse : 0
        if grad {
            // row holds exp(logit − m) now: softmax = row / exp(lse − m)
            if tgt < 0 {
                row.update(repeating: 0, count: vocab)
            } else {
                let k = gradScale / expf(lse - m)
                for j in 0..<vocab { row[j] *= k }
                row[tgt] -= gradScale
            }
        }
    }
}

/// `Σ exp(x[i] − shift)` without writing anything (eight partial sums).
@inlinable
public func sumExpShifted(_ x: UnsafePointer<Float>, count: Int, shift: Float) -> Float {
    var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0, s4: Float = 0, s5: Float = 0, s6: Float = 0, s7: Float = 0
    var i = 0
    while i + 8 <= count {
        s0 += fastExpScalar(x[i] - shift); s1 += fastExpScalar(x[i + 1] - shift)
        s2 += fastExpScalar(x[i + 2] - shift); s3 += fastExpScalar(x[i + 3] - shift)
        s4 += fastExpScalar(x[i + 4] - shift); s5 += fastExpScalar(x[i + 5] - shift)
        s6 += fastExpScalar(x[i + 6] - shift); s7 += fastExpScalar(x[i + 7] - shift)
        i += 8
    }
    while i < count { s0 += fastExpScalar(x[i] - shift); i += 1 }
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}
