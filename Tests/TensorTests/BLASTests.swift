import XCTest
import Tensor

final class BLASTests: XCTestCase {
    func testMatmul_AgreesWithNaiveProduct_ForPlainAndTransposedB() {
        var rng = SplitMix(seed: 1)
        let a = Tensor(shape: [7, 5], data: (0..<35).map { _ in rng.nextFloat() })
        let b = Tensor(shape: [5, 3], data: (0..<15).map { _ in rng.nextFloat() })
        let fast = matmul(a, b), slow = matmulNaive(a, b)
        let bt = b.transposed()
        let fastT = matmul(a, bt, transposeB: true)
        var maxDiff: Float = 0
        for i in 0..<fast.count { maxDiff = max(maxDiff, abs(fast.data[i] - slow.data[i]), abs(fastT.data[i] - slow.data[i])) }
        print("matmul maxdiff \(maxDiff)")
        XCTAssertLessThan(maxDiff, 1e-5)
    }

    func testSPDInverse_TimesMatrix_IsIdentity() throws {
        let n = 6
        var rng = SplitMix(seed: 2)
        let x = (0..<(n * 10)).map { _ in Double(rng.nextFloat()) }
        var m = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { for t in 0..<10 { m[i * n + j] += x[t * n + i] * x[t * n + j] } } }
        for i in 0..<n { m[i * n + i] += 0.1 }
        let inv = try SPD.inverse(m, n: n)
        for i in 0..<n { for j in 0..<n {
            var s = 0.0
            for k in 0..<n { s += m[i * n + k] * inv[k * n + j] }
            XCTAssertEqual(s, i == j ? 1 : 0, accuracy: 1e-9)
        } }
        var b = (0..<n).map { Double($0) }
        let b0 = b
        try SPD.solve(m, n: n, &b, nrhs: 1)
        for i in 0..<n {
            var s = 0.0
            for k in 0..<n { s += m[i * n + k] * b[k] }
            XCTAssertEqual(s, b0[i], accuracy: 1e-9)
        }
        let (vals, vecs) = try SPD.eigen(m, n: n)
        // M v = λ v for each eigenpair (vectors are rows of the row-major view).
        for e in 0..<n { for i in 0..<n {
            var s = 0.0
            for k in 0..<n { s += m[i * n + k] * vecs[e * n + k] }
            XCTAssertEqual(s, vals[e] * vecs[e * n + i], accuracy: 1e-9)
        } }
    }

    func testSPDFactor_RejectsIndefiniteMatrix() {
        var m: [Double] = [1, 2, 2, 1]
        XCTAssertThrowsError(try SPD.factor(&m, n: 2))
    }
}

/// A tiny deterministic generator for tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
    mutating func nextFloat() -> Float { Float(next() >> 40) / Float(1 << 24) * 2 - 1 }
}
