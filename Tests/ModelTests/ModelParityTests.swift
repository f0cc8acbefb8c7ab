import XCTest
@testable import Model

/// Parity with Hugging Face transformers on tiny random models (fixtures from make_model_fixtures.py).
final class ModelParityTests: XCTestCase {
    func checkForward(_ name: String) throws {
        let model = try Fixtures.model(name)
        let ref = try Fixtures.reference(name)
        var worst: Float = 0, top5Mismatch = 0, positions = 0
        for (i, seq) in ref.sequences.enumerated() {
            var tops: [[Int]] = []
            let r = try model.forward(tokens: seq) { _, rows, logits in
                for j in 0..<rows { tops.append(topK(logits + j * model.vocabSize, count: model.vocabSize, k: 5)) }
            }
            worst = max(worst, maxAbsDiff(r.targetLogProbs, ref.target_logprobs[i]))
            XCTAssertEqual(r.losses[0], ref.loss[i], accuracy: 1e-4, "\(name) seq \(i) loss")
            for (a, b) in zip(tops, ref.top5[i]) {
                positions += 1
                if a != b { top5Mismatch += 1 }
                XCTAssertEqual(a.first, b.first, "\(name) seq \(i) top-1")
            }
        }
        print("\(name): log-prob max abs diff \(worst), top-5 mismatches \(top5Mismatch)/\(positions)")
        XCTAssertLessThanOrEqual(worst, 1e-3)
        XCTAssertLessThanOrEqual(top5Mismatch, positions / 20)
    }

    func testTinyLlamaForward_MatchesTransformers() throws { try checkForward("tiny-llama") }
    func testTinyLlamaTiedForward_MatchesTransformers() throws { try checkForward("tiny-llama-tied") }
    func testTinyOPTForward_MatchesTransformers() throws { try checkForward("tiny-opt") }
    /// Gemma 3: sliding window 4 on layers 0 and 2, head_dim 24, query_pre_attn_scalar 20, two RoPE bases.
    func testTinyGemma3Forward_MatchesTransformers() throws { try checkForward("tiny-gemma3") }

    func checkGradients(_ name: String) throws {
        let model = try Fixtures.model(name)
        let ref = try Fixtures.reference(name)
        let seq = ref.sequences[0]
        let want = try Fixtures.activations(name, ref: ref, t: seq.count)
        var seen = 0
        var worstIn = 0.0, worstGrad = 0.0
        let loss = try model.gradients(tokens: seq) { id, input, grad in
            let lin = model[linear: id]
            guard let w = want[lin.name] else { return XCTFail("no fixture for \(lin.name)") }
            seen += 1
            worstIn = max(worstIn, relativeError(Array(input), w.input))
            worstGrad = max(worstGrad, relativeError(Array(grad), w.grad))
        }
        print("\(name): loss \(loss) vs \(ref.grad_loss ?? .nan); worst relative error: inputs \(worstIn), output grads \(worstGrad)")
        XCTAssertEqual(seen, want.count)
        XCTAssertEqual(loss, ref.grad_loss ?? .nan, accuracy: 1e-4)
        XCTAssertLessThan(worstIn, 1e-4)
        XCTAssertLessThan(worstGrad, 1e-3)
    }

    func testTinyLlamaLinearGradients_MatchTorchHooks() throws { try checkGradients("tiny-llama") }
    func testTinyLlamaTiedLinearGradients_MatchTorchHooks() throws { try checkGradients("tiny-llama-tied") }
    func testTinyOPTLinearGradients_MatchTorchHooks() throws { try checkGradients("tiny-opt") }
    func testTinyGemma3LinearGradients_MatchTorchHooks() throws { try checkGradients("tiny-gemma3") }

    func testBatchedForward_EqualsOneSequenceAtATime() throws {
        let model = try Fixtures.model("tiny-llama")
        let ref = try Fixtures.reference("tiny-llama")
        let a = Array(ref.sequences[2].prefix(9)), b = ref.sequences[1]
        let both = try model.forward(tokens: a + b, batch: 2)
        let one = try model.forward(tokens: a).targetLogProbs + model.forward(tokens: b).targetLogProbs
        let d = maxAbsDiff(both.targetLogProbs, one)
        print("batched vs single max abs diff \(d)")
        XCTAssertLessThan(d, 1e-5)
    }

    func testModelListsPrunableLinearsInEngineOrder() throws {
        let llama = try Fixtures.model("tiny-llama"), opt = try Fixtures.model("tiny-opt")
        XCTAssertEqual(llama.blocks[1].linears.map(\.role), [.q, .k, .v, .o, .gate, .up, .down])
        XCTAssertEqual(opt.blocks[0].linears.map(\.name).last, "model.decoder.layers.0.fc2")
        XCTAssertEqual(llama.linearIDs.count, 14)
        XCTAssertEqual(llama.linearID(named: "model.layers.1.mlp.up_proj"), LinearID(layer: 1, index: 5))
        XCTAssertEqual(llama[linear: LinearID(layer: 0, index: 1)].rows, 32)
    }
}
