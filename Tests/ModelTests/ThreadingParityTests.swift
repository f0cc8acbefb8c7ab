import XCTest
import Tensor
@testable import Model

/// The forward and backward split attention pieces and element-wise work over BLAS's threads once a
/// sequence has 32 rows or more; the results must not depend on the thread count.
final class ThreadingParityTests: XCTestCase {
    func run(_ name: String, threads: Int) throws -> (logProbs: [Float], inputs: [String: [Float]], grads: [String: [Float]]) {
        let model = try Fixtures.model(name)
        let t = min(96, model.maxPositions)
        let tokens = (0..<t).map { ($0 * 7919 + 13) % model.vocabSize }
        let saved = blasThreads()
        setBLASThreads(threads)
        defer { setBLASThreads(saved) }
        let r = try model.forward(tokens: tokens)
        var inputs: [String: [Float]] = [:], grads: [String: [Float]] = [:]
        _ = try model.gradients(tokens: tokens) { id, input, grad in
            inputs[model[linear: id].name] = Array(input)
            grads[model[linear: id].name] = Array(grad)
        }
        return (r.targetLogProbs, inputs, grads)
    }

    func check(_ name: String) throws {
        let one = try run(name, threads: 1), two = try run(name, threads: 2)
        XCTAssertGreaterThanOrEqual(one.logProbs.count, 31, "too short to take the threaded paths")
        XCTAssertLessThanOrEqual(maxAbsDiff(one.logProbs, two.logProbs), 1e-5, "\(name) log-probs")
        XCTAssertEqual(Set(one.inputs.keys), Set(two.inputs.keys))
        for (k, v) in one.inputs {
            XCTAssertLessThan(relativeError(v, two.inputs[k]!), 1e-5, "\(name) \(k) input")
            XCTAssertLessThan(relativeError(one.grads[k]!, two.grads[k]!), 1e-4, "\(name) \(k) output grad")
        }
    }

    func testTinyLlama_OneAndTwoThreadsAgree() throws { try check("tiny-llama") }
    func testTinyOPT_OneAndTwoThreadsAgree() throws { try check("tiny-opt") }
}
