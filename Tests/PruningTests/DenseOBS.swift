import Tensor
@testable import Pruning

/// Small deterministic generator for test data (SplitMix64).
struct TestRNG {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    mutating func uniform() -> Float { Float(Double(next() >> 11) / Double(1 << 53) * 2 - 1) }
    mutating func gaussianish() -> Float { (0..<4).reduce(0) { acc, _ in acc + uniform() } * 0.87 }
    mutating func array(_ n: Int) -> [Float] { (0..<n).map { _ in gaussianish() } }
}

/// Random SPD matrix `XᵀX/m + 0.05·I`. // (n, n)
func randomSPD(_ n: Int, rng: inout TestRNG, samples: Int? = nil) -> [Float] {
    let m = samples ?? (2 * n + 3)
    let x = rng.array(m * n)
    var out = secondMomentNaive(x, tokens: m, n: n)
    for i in 0..<n { out[i * n + i] += 0.05 }
    return out
}

/// Dense reference of the K-FAC OBS formulas with `F = G̃ ⊗ Ã` (row-major vec), all in Double.
struct DenseOBS {
    let R: Int, C: Int
    let finv: [Double]  // (RC, RC)

    /// `gd`, `ad` are the damped factors as used by the method.
    init(g: [Float], a: [Float], R: Int, C: Int, dampG: Double, dampA: Double) throws {
        self.R = R; self.C = C
        let gt = DenseOBS.damped(g, R, dampG), at = DenseOBS.damped(a, C, dampA)
        let n = R * C
        var f = [Double](repeating: 0, count: n * n)
        for r in 0..<R { for c in 0..<C { for r2 in 0..<R { for c2 in 0..<C {
            f[(r * C + c) * n + r2 * C + c2] = gt[r * R + r2] * at[c * C + c2]
        } } } }
        finv = try SPD.inverse(f, n: n)
    }

    static func damped(_ m: [Float], _ n: Int, _ d: Double) -> [Double] {
        var out = m.map(Double.init)
        let mean = (0..<n).reduce(0.0) { $0 + out[$1 * n + $1] } / Double(n)
        for i in 0..<n { out[i * n + i] += d * mean }
        return out
    }

    /// `(ΔL, Δθ)` of removing the flat indices `k` from `theta`.
    func remove(_ k: [Int], theta: [Float]) throws -> (cost: Double, delta: [Double]) {
        let n = R * C, m = k.count
        var s = [Double](repeating: 0, count: m * m)  // Eᵀ F⁻¹ E
        for i in 0..<m { for j in 0..<m { s[i * m + j] = finv[k[i] * n + k[j]] } }
        var x = k.map { Double(theta[$0]) }
        try SPD.solve(s, n: m, &x, nrhs: 1)
        var cost = 0.0
        for i in 0..<m { cost += 0.5 * Double(theta[k[i]]) * x[i] }
        var delta = [Double](repeating: 0, count: n)
        for p in 0..<n { var acc = 0.0; for i in 0..<m { acc += finv[p * n + k[i]] * x[i] }; delta[p] = -acc }
        return (cost, delta)
    }
}

/// Max |a − b| over two arrays.
func maxDiff(_ a: [Float], _ b: [Double]) -> Double {
    zip(a, b).reduce(0.0) { max($0, abs(Double($1.0) - $1.1)) }
}

/// A tiny layer with random SPD factors, balanced.
func randomLayer(_ name: String, R: Int, C: Int, rng: inout TestRNG, gScale: Float = 1) -> PrunableLayer {
    let g = SymmetricFactor(n: R, data: randomSPD(R, rng: &rng).map { $0 * gScale })
    let a = SymmetricFactor(n: C, data: randomSPD(C, rng: &rng))
    return PrunableLayer(name: name, weight: Tensor(shape: [R, C], data: rng.array(R * C)),
                         curvature: .balanced(g: g, a: a))
}
