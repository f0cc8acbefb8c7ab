import Foundation
import XCTest
import Checkpoint
import Tensor
@testable import Model

/// Gemma 3 270M (base) from `models/gemma-3-270m-Q4_K_M.gguf` (release builds only) against transformers'
/// Gemma3ForCausalLM loaded from the same GGUF (fixture `gemma3/reference.json`, make_gemma3_fixtures.py).
final class Gemma3Tests: XCTestCase {
    nonisolated(unsafe) static var cached: LanguageModel?

    static func model() throws -> LanguageModel {
        if let m = cached { return m }
        #if DEBUG
        throw XCTSkip("Gemma 3 tests run in release builds only")
        #else
        let path = ProcessInfo.processInfo.environment["SURGEON_GEMMA3_GGUF"]
            ?? Fixtures.packageRoot.appendingPathComponent("models/gemma-3-270m-Q4_K_M.gguf").path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("no \(path) (scripts/setup.sh fetches it)") }
        let m = try LanguageModel.load(path: path)
        cached = m
        return m
        #endif
    }

    struct PerplexityReference: Decodable {
        struct Entry: Decodable { let seqlen: Int; let windows: Int; let perplexity: Double; let seconds: Double? }
        let perplexity: Entry
    }

    func testGemma3Config_IsReadFromTheGGUF() throws {
        let c = try Self.model().model.config
        XCTAssertEqual(c.architecture, .gemma3)
        XCTAssertEqual([c.numLayers, c.hiddenSize, c.intermediateSize, c.numHeads, c.numKVHeads, c.headDim, c.vocabSize],
                       [18, 640, 2048, 4, 1, 256, 262_144])
        XCTAssertEqual((0..<18).filter { c.attentionWindow($0) == nil }, [5, 11, 17])
        XCTAssertEqual(c.slidingWindow, 512)
        XCTAssertEqual(c.ropeBase(0), 10_000)
        XCTAssertEqual(c.ropeBase(5), 1_000_000)
        XCTAssertTrue(c.tieWordEmbeddings)
    }

    func testGemma3LogProbs_MatchTransformers() throws {
        let model = try Self.model().model
        let ref = try Fixtures.reference("gemma3")
        var worst: Float = 0, top1Mismatch = 0, positions = 0
        for (i, seq) in ref.sequences.enumerated() {
            var tops: [[Int]] = []
            let r = try model.forward(tokens: seq) { _, rows, logits in
                for j in 0..<rows { tops.append(topK(logits + j * model.vocabSize, count: model.vocabSize, k: 5)) }
            }
            worst = max(worst, maxAbsDiff(r.targetLogProbs, ref.target_logprobs[i]))
            for (a, b) in zip(tops, ref.top5[i]) {
                positions += 1
                if a.first != b.first { top1Mismatch += 1 }
            }
            XCTAssertEqual(r.losses[0], ref.loss[i], accuracy: 1e-3)
        }
        print("Gemma 3: log-prob max abs diff \(worst); top-1 mismatches \(top1Mismatch) of \(positions)")
        XCTAssertLessThanOrEqual(worst, 1e-3)
        XCTAssertLessThanOrEqual(top1Mismatch, 1)
    }

    /// The first 3 windows × 2048 of WikiText-2 test (sliding windows of 512 matter here): within 0.05 % of transformers.
    func testGemma3Perplexity_First3Windows_MatchesTransformers() throws {
        let lm = try Self.model()
        let data = try Data(contentsOf: Fixtures.url("gemma3").appendingPathComponent("reference.json"))
        let want = try JSONDecoder().decode(PerplexityReference.self, from: data).perplexity
        let ids = try lm.tokenize(file: Fixtures.packageRoot.appendingPathComponent("../shared/data/wikitext2/test.txt").path)
        let r = try lm.model.perplexity(tokens: ids, seqlen: want.seqlen, windows: want.windows) { _, _ in }
        let rel = abs(r.perplexity - want.perplexity) / want.perplexity
        print(String(format: "Gemma 3 dense perplexity %.4f (transformers %.4f, relative difference %.2e) over %d windows × %d in %.2f s (transformers %.0f s); peak RSS %.0f MiB",
                     r.perplexity, want.perplexity, rel, r.windows, r.seqlen, r.seconds, want.seconds ?? .nan, SmolLM2Tests.peakRSSMiB()))
        XCTAssertLessThan(rel, 5e-4)
    }
}
