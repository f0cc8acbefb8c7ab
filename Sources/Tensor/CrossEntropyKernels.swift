import Foundation

/// Log-softmax cross-entropy over rows of logits, forward beside backward.

/// For each row of `logits (N, V)`: the log-probability of `targets[i]` (skipped when negative)
/// into `logProbs (N)`. When `grad` is set, `logits` is overwritten with
/// `gradScale · (softmax − onehot(target))` (zero for rows without a target).
@inlinable
public func crossEntropyRows(_ logProbs: UnsafeMutablePointer<Float>, _ logits: UnsafeMutablePointer<Float>,
                             targets: UnsafePointer<Int>, n: Int, vocab: Int, grad: Bool, gradScale: Float) {
    for i in 0..<n {
        let row = logits + i * vocab
        let m = maxElement(row, count: vocab)
        let tgt = targets[i]
        let targetLogit = tgt >= 0 ? row[tgt] : 0
        // exp into the row itself only when it is about to be overwritten by the gradient anyway
        let lse: Float
        if grad {
            lse = m + logf(expShifted(row, row, count: vocab, shift: m))
        } else {
            lse = m + logf(sumExpShifted(row, count: vocab, shift: m))
        }
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

/// `Σ exp(x[i] − shift)` without writing anything.
@inlinable
public func sumExpShifted(_ x: UnsafePointer<Float>, count: Int, shift: Float) -> Float {
    var acc = SIMD8<Float>(repeating: 0)
    var i = 0
    let s = SIMD8<Float>(repeating: shift)
    while i + 8 <= count {
        acc += fastExp(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) - s)
        i += 8
    }
    var tail: Float = 0
    while i < count { tail += expf(x[i] - shift); i += 1 }
    return acc.sum() + tail
}
