import Cluster
import Tensor

/// A symmetric `n×n` second-moment matrix (a K-FAC factor), shared by reference: the `A` of q/k/v
/// (and of gate/up) is one object referenced by several layers.
public final class SymmetricFactor: @unchecked Sendable {
    /// Order of the matrix.
    public let n: Int
    /// The full symmetric matrix, row-major. // (n, n)
    /// The identity factor holds no matrix (the methods that use it read only `diagonal`): this builds it on demand.
    public var data: [Float] {
        guard isIdentity else { return stored }
        var d = [Float](repeating: 0, count: n * n)
        for i in 0..<n { d[i * n + i] = 1 }
        return d
    }
    private let stored: [Float]
    /// True for `identity(n)`, which stores nothing.
    public let isIdentity: Bool
    /// Frobenius norm of `data` (computed once).
    public let frobeniusNorm: Double
    /// True when every element is finite.
    public let isFinite: Bool

    /// The factor's name in a `FactorStore` (the streamed mode's), under which its inverses are kept too.
    public let key: String?

    /// Bytes this factor holds.
    public var bytes: Int { stored.count * MemoryLayout<Float>.stride }

    private init(identity n: Int) {
        self.n = n; stored = []; isIdentity = true; key = nil; frobeniusNorm = Double(n).squareRoot(); isFinite = true
    }

    public init(n: Int, data: [Float], key: String? = nil) {
        precondition(data.count == n * n, "SymmetricFactor: \(n)×\(n) needs \(n * n) elements, got \(data.count)")
        self.n = n
        self.stored = data
        self.isIdentity = false
        self.key = key
        var s0 = 0.0, s1 = 0.0, finite = true
        data.withUnsafeBufferPointer { p in
            var i = 0
            while i + 1 < p.count {
                let a = Double(p[i]), b = Double(p[i + 1])
                s0 += a * a; s1 += b * b; i += 2
            }
            if i < p.count { s0 += Double(p[i]) * Double(p[i]) }
        }
        let ss = s0 + s1
        if !ss.isFinite { finite = false }
        self.isFinite = finite
        self.frobeniusNorm = ss.squareRoot()
    }

    /// The identity factor (magnitude baseline, `G` of L-OBD).
    /// It stores no matrix: `n²` floats per layer for nothing made the magnitude, Wanda and SparseGPT
    /// baselines hold dense identities of every layer.
    public static func identity(_ n: Int) -> SymmetricFactor { SymmetricFactor(identity: n) }

    /// Diagonal of the matrix.
    public var diagonal: [Float] {
        if isIdentity { return [Float](repeating: 1, count: n) }
        return stored.withUnsafeBufferPointer { p in (0..<n).map { p[$0 * n + $0] } }
    }
}

/// Running sum of `x xᵀ` over token rows, accumulated with `ssyrk`; `finalize` gives the mean.
/// Accumulate `A` once per distinct layer input (q/k/v share one, gate/up share one) and `G` once per layer.
public final class KFACAccumulator: @unchecked Sendable {
    /// Order of the factor (C for an input factor, R for an output-gradient factor).
    public let dimension: Int
    /// Token rows added so far.
    public private(set) var tokens: Int = 0
    private var sum: [Float]  // (n, n), upper triangle

    public init(dimension: Int) {
        self.dimension = dimension
        self.sum = [Float](repeating: 0, count: dimension * dimension)
    }

    /// Adds a block of `tokens` rows (row-major, `stride` floats apart, default `dimension`). // (T, n)
    /// For a layer with a bias, the caller appends the constant-1 column to the inputs.
    public func add(_ block: UnsafePointer<Float>, tokens t: Int, stride: Int? = nil) {
        guard t > 0 else { return }
        let n = dimension
        if sum.isEmpty { sum = [Float](repeating: 0, count: n * n) }  // added to after finalize: start again
        sum.withUnsafeMutableBufferPointer { c in
            ssyrkAccumulate(n: n, k: t, block, ldx: stride ?? n, c.baseAddress!, ldc: n)
        }
        tokens += t
    }

    /// Adds a block given as an array of `tokens × dimension` floats. // (T, n)
    public func add(_ block: [Float], tokens t: Int) {
        precondition(block.count >= t * dimension, "KFACAccumulator.add: block too small")
        block.withUnsafeBufferPointer { add($0.baseAddress!, tokens: t) }
    }

    /// The mean `(1/tokens) Σ x xᵀ` as a full symmetric factor (zero when nothing was added). The accumulator
    /// hands its buffer over (no second `n²` copy) and is empty afterwards; `reset` makes it usable again.
    /// `key` names the factor in a `FactorStore`.
    public func finalize(key: String? = nil) -> SymmetricFactor {
        let n = dimension
        var out: [Float] = []
        swap(&out, &sum)
        if out.isEmpty { out = [Float](repeating: 0, count: n * n) }
        let scale: Float = tokens > 0 ? 1 / Float(tokens) : 0
        out.withUnsafeMutableBufferPointer { p in
            symmetrizeUpper(p.baseAddress!, n: n)
            for i in 0..<p.count { p[i] *= scale }
        }
        return SymmetricFactor(n: n, data: out, key: key)
    }

    /// Data-parallel curvature (issue 13): every rank's running sum and token count, added in rank order, land in
    /// `owner`'s accumulator; the other ranks' accumulators are emptied (they hold no share of this factor).
    public func reduce(to owner: Int, over comm: any Communicator) throws {
        guard comm.size > 1 else { return }
        if sum.isEmpty { sum = [Float](repeating: 0, count: dimension * dimension) }
        try comm.reduceSum(&sum, root: owner)
        tokens = Int(try comm.allGather([Double(tokens)]).reduce(0, +))
        if comm.rank != owner { sum = []; tokens = 0 }
    }

    /// Forgets everything added (for the next shot).
    public func reset() {
        tokens = 0
        if sum.count != dimension * dimension { sum = [Float](repeating: 0, count: dimension * dimension); return }
        for i in 0..<sum.count { sum[i] = 0 }
    }
}

/// The naive twin of `KFACAccumulator`: `(1/T) Σ_t x_t x_tᵀ` by loops in Double. // x: (T, n)
public func secondMomentNaive(_ x: [Float], tokens t: Int, n: Int) -> [Float] {
    var out = [Float](repeating: 0, count: n * n)
    for i in 0..<n { for j in 0..<n {
        var s = 0.0
        for r in 0..<t { s += Double(x[r * n + i]) * Double(x[r * n + j]) }
        out[i * n + j] = t > 0 ? Float(s / Double(t)) : 0
    } }
    return out
}

/// Appends the constant-1 input column of a layer with a bias: (T, C0) → (T, C0 + 1).
public func appendingConstantOneColumn(_ x: [Float], tokens t: Int, columns c0: Int) -> [Float] {
    var out = [Float](repeating: 1, count: t * (c0 + 1))
    for r in 0..<t { for c in 0..<c0 { out[r * (c0 + 1) + c] = x[r * c0 + c] } }
    return out
}
