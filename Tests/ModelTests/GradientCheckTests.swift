import XCTest
@testable import Model

/// The backward against finite differences of the loss on the tiny models: for a few weights of every
/// prunable Linear, `∂loss/∂W[r,c] = Σ_t g[t,r]·x[t,c]` from the visitor vs `(L(W+h) − L(W−h)) / 2h`.
final class GradientCheckTests: XCTestCase {
    func check(_ name: String) throws {
        var model = try Fixtures.model(name)
        let seq = try Fixtures.reference(name).sequences[2]
        var grads: [LinearID: [Float]] = [:]
        try model.gradients(tokens: seq) { id, x, g in
            let lin = model[linear: id]
            let t = x.count / lin.cols
            var dw = [Float](repeating: 0, count: lin.rows * lin.cols)
            for r in 0..<lin.rows { for c in 0..<lin.cols {
                var s: Float = 0
                for i in 0..<t { s += g[i * lin.rows + r] * x[i * lin.cols + c] }
                dw[r * lin.cols + c] = s
            } }
            grads[id] = dw
        }
        XCTAssertEqual(grads.count, model.linearIDs.count)
        var worst = 0.0
        let h: Float = 1e-2
        for id in model.linearIDs {
            let dw = grads[id]!
            // the three largest-gradient elements of this Linear
            let picks = dw.indices.sorted { abs(dw[$0]) > abs(dw[$1]) }.prefix(3)
            for e in picks {
                let w0 = model[linear: id].weight[e]
                model[linear: id].weight[e] = w0 + h
                let lp = Double(try model.forward(tokens: seq).losses[0])
                model[linear: id].weight[e] = w0 - h
                let lm = Double(try model.forward(tokens: seq).losses[0])
                model[linear: id].weight[e] = w0
                let fd = (lp - lm) / Double(2 * h)
                let rel = abs(fd - Double(dw[e])) / max(abs(fd), 1e-3)
                worst = max(worst, rel)
            }
        }
        print("\(name): backward vs finite differences, worst relative error \(worst)")
        XCTAssertLessThan(worst, 3e-2)
    }

    func testTinyLlamaBackward_MatchesFiniteDifferences() throws { try check("tiny-llama") }
    func testTinyLlamaTiedBackward_MatchesFiniteDifferences() throws { try check("tiny-llama-tied") }
    func testTinyOPTBackward_MatchesFiniteDifferences() throws { try check("tiny-opt") }
}
