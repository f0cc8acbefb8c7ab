import XCTest
import Tensor
@testable import Pruning

final class BaselineTests: XCTestCase {
    /// SparseGPT without lazy batching, straight from the paper's algorithm, in Double.
    private func sparseGPTNaive(_ w0: [Float], h: [Float], R: Int, C: Int, s: Double, semi24: Bool) throws -> [Double] {
        var w = w0.map(Double.init)
        var m = h.map(Double.init)
        for i in 0..<C where m[i * C + i] == 0 { m[i * C + i] = 1; for r in 0..<R { w[r * C + i] = 0 } }
        let damp = 0.01 * (0..<C).reduce(0.0) { $0 + m[$1 * C + $1] } / Double(C)
        for i in 0..<C { m[i * C + i] += damp }
        var u = try SPD.inverse(m, n: C)
        try SPD.factor(&u, n: C)
        for i in 0..<C { for j in 0..<i { u[i * C + j] = 0 } }
        u = u.map { Double(Float($0)) }
        var mask = [Bool](repeating: false, count: R * C)
        for i in 0..<C {
            if i % 128 == 0 && !semi24 {
                let end = min(i + 128, C)
                var tmp: [Float] = []
                for r in 0..<R { for j in i..<end { tmp.append(Float(w[r * C + j] * w[r * C + j] / (u[j * C + j] * u[j * C + j]))) } }
                let t = tmp.sorted()[Int(Double(tmp.count) * s)]
                for r in 0..<R { for j in i..<end { mask[r * C + j] = tmp[r * (end - i) + j - i] <= t } }
            }
            if semi24 && i % 4 == 0 {
                for r in 0..<R {
                    let c4 = (0..<4).map { Float(w[r * C + i + $0] * w[r * C + i + $0] / (u[(i + $0) * C + i + $0] * u[(i + $0) * C + i + $0])) }
                    let (a, b) = SemiStructured.twoCheapest(c4[0], c4[1], c4[2], c4[3])
                    mask[r * C + i + a] = true; mask[r * C + i + b] = true
                }
            }
            for r in 0..<R {
                let x = w[r * C + i], q = mask[r * C + i] ? 0 : x
                let e = (x - q) / u[i * C + i]
                for j in i..<C { w[r * C + j] -= e * u[i * C + j] }
                w[r * C + i] = q
            }
        }
        return w
    }

    func testSparseGPT_MatchesNaiveImplementation_UnstructuredAnd24() throws {
        var rng = TestRNG(40)
        let R = 6, C = 260
        let w = rng.array(R * C)
        var h = randomSPD(C, rng: &rng, samples: 300)
        for i in 0..<C { h[7 * C + i] = 0; h[i * C + 7] = 0 }  // dead column 7
        for semi in [false, true] {
            var t = Tensor(shape: [R, C], data: w)
            try SparseGPT.prune(theta: &t, h: h, sparsity: 0.5, semi24: semi, weightColumns: C, layer: "l")
            let ref = try sparseGPTNaive(w, h: h, R: R, C: C, s: 0.5, semi24: semi)
            let d = maxDiff(t.data, ref)
            let zeros = t.data.filter { $0 == 0 }.count
            print("SparseGPT \(semi ? "2:4" : "unstructured") vs naive maxdiff", d, "zeros", zeros, "of", R * C)
            XCTAssertLessThan(d, 1e-3)
            XCTAssertEqual(zeros, ref.filter { $0 == 0 }.count)
            if semi { XCTAssertTrue(SemiStructured.isValid(t.data, R: R, C: C, weightColumns: C)) }
            XCTAssertEqual((0..<R).map { t[$0, 7] }, [Float](repeating: 0, count: R))
        }
    }

    func testWanda_PrunesTheSameCountInEveryRow_ByWeightTimesInputNorm() {
        let R = 2, C = 5
        let th: [Float] = [1, -2, 3, 0.5, 4,
                           -1, 1, 1, 1, 1]
        let aDiag: [Float] = [1, 1, 0.01, 100, 1]
        let mask = Wanda.mask(theta: th, aDiag: aDiag, R: R, C: C, sparsity: 0.4, semi24: false, weightColumns: C)
        // row 0 scores: 1, 2, 0.3, 5, 4 → prune columns 2, 0; row 1: 1, 1, 0.1, 10, 1 → 2, then 0 (tie by column)
        XCTAssertEqual(mask, [true, false, true, false, false, true, false, true, false, false])
        let m24 = Wanda.mask(theta: th.map { $0 + 10 }, aDiag: [1, 1, 1, 1, 1], R: R, C: C, sparsity: 0.5, semi24: true, weightColumns: C)
        XCTAssertEqual(m24.filter { $0 }.count, 4)
        XCTAssertFalse(m24[4] || m24[9], "the tail column is outside any 4-block")
    }
}
