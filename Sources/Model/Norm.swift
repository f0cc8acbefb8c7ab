import Tensor

/// A normalisation layer over the hidden dimension: RMSNorm (Llama) or LayerNorm (OPT).
public struct Norm: Sendable, Equatable {
    /// `(C)` gain.
    public var weight: [Float]
    /// `(C)` shift; LayerNorm only.
    public var bias: [Float]?
    public var eps: Float
    /// `true` for LayerNorm (mean-centred, with bias), `false` for RMSNorm.
    public var isLayerNorm: Bool { bias != nil }

    public init(weight: [Float], bias: [Float]?, eps: Float) {
        self.weight = weight; self.bias = bias; self.eps = eps
    }

    /// `out (N, C)`; stores `mean`, `rstd (N)` when given (the backward needs them). Rows are split over
    /// `workers` threads when there are enough of them.
    func forward(_ out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>?, rstd: UnsafeMutablePointer<Float>?,
                 _ inp: UnsafePointer<Float>, n: Int, workers: Int = 1) {
        let c = weight.count
        weight.withUnsafeBufferPointer { w in
            BLASParallel.ranges(count: n, workers: workers, minimum: 32) { r in
                let i = r.lowerBound
                if let bias {
                    bias.withUnsafeBufferPointer { b in
                        layernormForward(out + i * c, mean.map { $0 + i }, rstd.map { $0 + i }, inp + i * c, w.baseAddress!,
                                         b.baseAddress!, n: r.count, c: c, eps: eps)
                    }
                } else {
                    rmsnormForward(out + i * c, rstd.map { $0 + i }, inp + i * c, w.baseAddress!, n: r.count, c: c, eps: eps)
                }
            }
        }
    }

    /// `dinp (N, C) += ∂L/∂inp` from `dout (N, C)`.
    func backward(_ dinp: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>, _ inp: UnsafePointer<Float>,
                  mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, n: Int) {
        let c = weight.count
        weight.withUnsafeBufferPointer { w in
            if isLayerNorm {
                layernormBackward(dinp, dout, inp, w.baseAddress!, mean, rstd, n: n, c: c)
            } else {
                rmsnormBackward(dinp, dout, inp, w.baseAddress!, rstd, n: n, c: c)
            }
        }
    }
}
