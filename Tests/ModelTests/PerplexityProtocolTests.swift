import Foundation
import XCTest
@testable import Model

/// The evaluation protocol (method.md §10): non-overlapping windows, remainder dropped, no context
/// carried between windows, ppl = exp(mean over windows of each window's mean CE over seqlen − 1 predictions).
final class PerplexityProtocolTests: XCTestCase {
    func testPerplexity_UsesNonOverlappingWindows_DropsRemainder_AndAveragesWindowLosses() throws {
        let model = try Fixtures.model("tiny-llama")
        let tokens = (0..<27).map { ($0 * 11 + 5) % model.vocabSize }
        let result = try model.perplexity(tokens: tokens, seqlen: 8)
        XCTAssertEqual(result.windows, 3)  // 27 // 8; the last 3 tokens are dropped
        XCTAssertEqual(result.windowLosses.count, 3)
        for w in 0..<3 {
            let window = Array(tokens[(w * 8)..<((w + 1) * 8)])
            let alone = try model.forward(tokens: window)
            XCTAssertEqual(result.windowLosses[w], Double(alone.losses[0]), accuracy: 1e-5, "window \(w)")
            // The window loss is the mean CE over its 7 shifted predictions.
            let meanNLL = -alone.targetLogProbs.reduce(0, +) / Float(alone.targetLogProbs.count)
            XCTAssertEqual(alone.targetLogProbs.count, 7)
            XCTAssertEqual(Double(meanNLL), result.windowLosses[w], accuracy: 1e-5)
        }
        let expected = exp(result.windowLosses.reduce(0, +) / 3)
        XCTAssertEqual(result.perplexity, expected, accuracy: 1e-9 * expected)
    }

    func testPerplexity_WindowLimit_TakesTheFirstWindows() throws {
        let model = try Fixtures.model("tiny-opt")
        let tokens = (0..<40).map { ($0 * 7 + 1) % model.vocabSize }
        let all = try model.perplexity(tokens: tokens, seqlen: 10)
        let two = try model.perplexity(tokens: tokens, seqlen: 10, windows: 2)
        XCTAssertEqual(two.windows, 2)
        XCTAssertEqual(two.windowLosses, Array(all.windowLosses.prefix(2)))
    }

    func testPerplexity_RejectsTextShorterThanOneWindow() throws {
        let model = try Fixtures.model("tiny-llama")
        XCTAssertThrowsError(try model.perplexity(tokens: [1, 2, 3], seqlen: 8))
    }
}
