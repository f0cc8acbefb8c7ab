/// A dense fp32 tensor: a shape and a flat, row-major buffer.
///
/// Everything numeric in Surgeon sits on this type or on raw pointers into its storage. Shapes follow
/// PyTorch's convention, so a Linear weight is `[out, in]` and `self[r, c]` is row `r`, column `c`.
public struct Tensor: Sendable, Equatable {
    /// Sizes of each dimension, outermost first.
    public var shape: [Int]
    /// The elements in row-major order; `data.count == shape.reduce(1, *)`.
    public var data: [Float]

    /// A tensor of `shape` filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.shape = shape
        self.data = [Float](repeating: value, count: shape.reduce(1, *))
    }

    /// A tensor of `shape` holding `data` (row-major).
    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "Tensor: shape \(shape) needs \(shape.reduce(1, *)) elements, got \(data.count)")
        self.shape = shape
        self.data = data
    }

    /// Number of elements.
    public var count: Int { data.count }
    /// Rows of a 2-D tensor (the first dimension).
    public var rows: Int { shape[0] }
    /// Columns of a 2-D tensor (the product of the remaining dimensions).
    public var cols: Int { shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1 }

    /// Element `(r, c)` of a 2-D tensor.
    @inlinable public subscript(r: Int, c: Int) -> Float {
        get { data[r * cols + c] }
        set { data[r * cols + c] = newValue }
    }

    /// The same elements under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor { Tensor(shape: newShape, data: data) }

    /// The transpose of a 2-D tensor.
    public func transposed() -> Tensor {
        let (R, C) = (rows, cols)
        var out = [Float](repeating: 0, count: R * C)
        data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for r in 0..<R { for c in 0..<C { dst[c * R + r] = src[r * C + c] } }
            }
        }
        return Tensor(shape: [C, R], data: out)
    }
}
