import Foundation
import XCTest
import Checkpoint
import Tensor
import Tokenizer
@testable import Model

/// The real model (release builds only: debug is 10–50× slower). Loads `models/SmolLM2-135M-Instruct.Q4_1.gguf`
/// (or the file named by `SURGEON_SMOLLM2_GGUF`);
/// while the GGUF reader is not there, an fp32 Hugging Face directory named by `SURGEON_SMOLLM2_HF_DIR`
/// (written by `make_model_fixtures.py smollm2-hf DIR`) stands in.
final class SmolLM2Tests: XCTestCase {
    nonisolated(unsafe) static var cached: TransformerModel?
    nonisolated(unsafe) static var cachedTokenizer: TokenizerData?

    static func model() throws -> TransformerModel {
        if let m = cached { return m }
        #if DEBUG
        throw XCTSkip("SmolLM2 tests run in release builds only")
        #else
        let gguf = ProcessInfo.processInfo.environment["SURGEON_SMOLLM2_GGUF"]
            ?? Fixtures.packageRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        var ck: LoadedCheckpoint?
        var why = "no \(gguf)"
        if FileManager.default.fileExists(atPath: gguf) {
            do { ck = try CheckpointLoader.load(path: gguf) } catch { why = "\(error)" }
        }
        if ck == nil, let dir = ProcessInfo.processInfo.environment["SURGEON_SMOLLM2_HF_DIR"] {
            ck = try CheckpointLoader.load(path: dir)
        }
        guard let ck else { throw XCTSkip("no SmolLM2 checkpoint could be loaded: \(why)") }
        let m = try TransformerModel(checkpoint: ck)
        cached = m
        cachedTokenizer = ck.tokenizer
        return m
        #endif
    }

    /// WikiText-2 test ids, tokenized with the checkpoint's own tokenizer (no BOS), or else read from
    /// `wikitext2-test.ids` beside the HF directory (int32, transformers' tokenizer).
    static func wikitextIDs() throws -> [Int] {
        _ = try model()
        if let data = cachedTokenizer {
            let text = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent("../shared/data/wikitext2/test.txt"), encoding: .utf8)
            return try BPETokenizer(data).encode(text, addSpecialTokens: false).map { Int($0) }
        }
        guard let dir = ProcessInfo.processInfo.environment["SURGEON_SMOLLM2_HF_DIR"],
              let data = FileManager.default.contents(atPath: dir + "/wikitext2-test.ids") else {
            throw XCTSkip("no tokenized WikiText-2 ids available")
        }
        return data.withUnsafeBytes { $0.bindMemory(to: Int32.self).map { Int($0) } }
    }

    static func peakRSSMiB() -> Double {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return .nan }
        return kb / 1024
    }

    func testSmolLM2LogProbs_MatchTransformers() throws {
        let model = try Self.model()
        let ref = try Fixtures.reference("smollm2")
        var worst: Float = 0, top1Mismatch = 0, top5Mismatch = 0, positions = 0
        for (i, seq) in ref.sequences.enumerated() {
            var tops: [[Int]] = []
            let r = try model.forward(tokens: seq) { _, rows, logits in
                for j in 0..<rows { tops.append(topK(logits + j * model.vocabSize, count: model.vocabSize, k: 5)) }
            }
            worst = max(worst, maxAbsDiff(r.targetLogProbs, ref.target_logprobs[i]))
            for (a, b) in zip(tops, ref.top5[i]) {
                positions += 1
                if a.first != b.first { top1Mismatch += 1 }
                if a != b { top5Mismatch += 1 }
            }
            XCTAssertEqual(r.losses[0], ref.loss[i], accuracy: 1e-3)
        }
        print("SmolLM2: log-prob max abs diff \(worst); top-1 mismatches \(top1Mismatch), top-5 order mismatches \(top5Mismatch) of \(positions)")
        XCTAssertLessThanOrEqual(worst, 1e-3)
        XCTAssertLessThanOrEqual(top1Mismatch, 1)
    }

    func testSmolLM2Perplexity_First3Windows_Is22_7319() throws {
        let model = try Self.model()
        let ids = try Self.wikitextIDs()
        XCTAssertEqual(ids.count, 304_986)
        let r = try model.perplexity(tokens: ids, seqlen: 2048, windows: 3) { d, n in print("window \(d)/\(n)") }
        print(String(format: "SmolLM2 dense perplexity %.4f over %d windows × %d in %.2f s; peak RSS %.0f MiB",
                     r.perplexity, r.windows, r.seqlen, r.seconds, Self.peakRSSMiB()))
        XCTAssertEqual(r.perplexity, 22.7319, accuracy: 22.7319 * 5e-4)
    }

    func testBenchmarkForward2048_PrintsThroughput() throws {
        let model = try Self.model()
        let t = 2048
        let ids = (0..<t).map { ($0 * 7919) % model.vocabSize }
        _ = try model.forward(tokens: Array(ids.prefix(64)))
        let start = Date()
        let r = try model.forward(tokens: ids)
        let s = Date().timeIntervalSince(start)
        let c = Double(model.hiddenSize), d = Double(model.headDim), tt = Double(t)
        var flops = 2 * tt * Double(model.prunableParameterCount) + 2 * tt * c * Double(model.vocabSize)
        for b in model.blocks { flops += 2 * 2 * Double(b.heads) * d * tt * (tt + 1) / 2 }
        print(String(format: "SmolLM2 forward, 1 × %d tokens: %.3f s, %.0f tokens/s, %.1f GFLOP/s (%.1f GFLOP), BLAS threads %d, peak RSS %.0f MiB",
                     t, s, tt / s, flops / s / 1e9, flops / 1e9, blasThreads(), Self.peakRSSMiB()))
        XCTAssertTrue(r.losses[0].isFinite)
    }

    func testGradients512Tokens_VisitsEveryLinearWithinMemory() throws {
        let model = try Self.model()
        let t = 512
        let ids = (0..<t).map { ($0 * 104_729) % model.vocabSize }
        let start = Date()
        var visits = 0, worst: Float = 0
        let loss = try model.gradients(tokens: ids) { _, x, g in
            visits += 1
            for v in g where !v.isFinite { worst = .nan }
            _ = x
        }
        print(String(format: "SmolLM2 forward+backward, %d tokens: %.2f s, loss %.4f, peak RSS %.0f MiB",
                     t, Date().timeIntervalSince(start), loss, Self.peakRSSMiB()))
        XCTAssertEqual(visits, model.linearIDs.count)
        XCTAssertFalse(worst.isNaN)
        XCTAssertTrue(loss.isFinite)
    }
}
