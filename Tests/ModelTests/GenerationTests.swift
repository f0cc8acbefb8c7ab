import XCTest
@testable import Model

final class GenerationTests: XCTestCase {
    func testKVCacheSteps_GiveTheSameLogitsAsFullForward() throws {
        for name in ["tiny-llama", "tiny-opt"] {
            let model = try Fixtures.model(name)
            let seq = try Fixtures.reference(name).sequences[2]
            var full: [[Float]] = []
            _ = try model.forward(tokens: seq) { _, rows, lg in
                for j in 0..<rows { full.append(Array(UnsafeBufferPointer(start: lg + j * model.vocabSize, count: model.vocabSize))) }
            }
            let cache = model.makeKVCache(capacity: seq.count)
            var worst: Float = 0
            var logits = try model.step(tokens: Array(seq.prefix(5)), cache: cache)
            worst = max(worst, maxAbsDiff(logits, full[4]))
            for i in 5..<seq.count {
                logits = try model.step(tokens: [seq[i]], cache: cache)
                worst = max(worst, maxAbsDiff(logits, full[i]))
            }
            print("\(name): KV-cache logits vs full forward max diff \(worst)")
            XCTAssertLessThan(worst, 1e-4)
            XCTAssertEqual(cache.length, seq.count)
        }
    }

    func testGenerate_GreedyIsArgmaxAndSamplingIsSeeded() throws {
        let model = try Fixtures.model("tiny-llama")
        let prompt = [3, 17, 42]
        let greedy = try model.generate(prompt: prompt, maxNewTokens: 6)
        XCTAssertEqual(greedy.count, 6)
        var lg: [Float] = []
        _ = try model.forward(tokens: prompt) { r0, rows, p in
            if r0 + rows == prompt.count { lg = Array(UnsafeBufferPointer(start: p + (rows - 1) * model.vocabSize, count: model.vocabSize)) }
        }
        XCTAssertEqual(greedy[0], lg.indices.max { lg[$0] < lg[$1] })
        let a = try model.generate(prompt: prompt, maxNewTokens: 8, temperature: 1, seed: 7)
        let b = try model.generate(prompt: prompt, maxNewTokens: 8, temperature: 1, seed: 7)
        XCTAssertEqual(a, b)
        XCTAssertThrowsError(try model.generate(prompt: [], maxNewTokens: 1))
        XCTAssertThrowsError(try model.forward(tokens: [999]))
    }
}
