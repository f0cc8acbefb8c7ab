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
        var m0 = -Float.infinity, m1 = -Float.infinity
        var j = 0
        while j + 2 <= vocab { m0 = max(m0, row[j]); m1 = max(m1, row[j + 1]); j += 2 }
        while j < vocab { m0 = max(m0, row[j]); j += 1 }
        let m = max(m0, m1)
        var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
        j = 0
        while j + 4 <= vocab {
            s0 += expf(row[j] - m); s1 += expf(row[j + 1] - m); s2 += expf(row[j + 2] - m); s3 += expf(row[j + 3] - m)
            j += 4
        }
        while j < vocab { s0 += expf(row[j] - m); j += 1 }
        let lse = m + logf(s0 + s1 + s2 + s3)
        let tgt = targets[i]
        logProbs[i] = tgt >= 0 ? row[tgt] - lse : 0
        if grad {
            if tgt < 0 {
                row.update(repeating: 0, count: vocab)
            } else {
                for j in 0..<vocab { row[j] = gradScale * expf(row[j] - lse) }
                row[tgt] -= gradScale
            }
        }
    }
}
