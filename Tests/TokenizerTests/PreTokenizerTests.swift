import Foundation
@testable import Tokenizer
import XCTest

/// The hand-written split scanners against `tokenizers`' regex splits (fixture split_patterns.json).
final class PreTokenizerTests: XCTestCase {
    private func check(_ pattern: PreTokenizer.Pattern) throws {
        let all = try TestSupport.fixtureObject("split_patterns")
        let entry = try XCTUnwrap(all[pattern.rawValue] as? [String: Any])
        XCTAssertEqual(entry["regex"] as? String, pattern.regex)
        XCTAssertEqual(PreTokenizer.Pattern(regex: pattern.regex), pattern)
        let cases = try XCTUnwrap(entry["cases"] as? [[String: Any]])
        XCTAssertGreaterThan(cases.count, 40)
        let splitter = PreTokenizer(splitDigits: false, pattern: pattern)
        for item in cases {
            let text = try XCTUnwrap(item["text"] as? String)
            let text2 = ScalarText(text)
            var words: [Range<Int>] = []
            splitter.split(text2, 0..<text2.count, into: &words)
            let ours = words.map { String(String.UnicodeScalarView(text2.scalars[$0].compactMap(Unicode.Scalar.init))) }
            XCTAssertEqual(ours, item["words"] as? [String], "\(pattern) on \(text.debugDescription)")
        }
    }

    func testGPT2Scanner_SplitsLikeTheRegex() throws { try check(.gpt2) }
    func testLlama3Scanner_SplitsLikeTheRegex() throws { try check(.llama3) }
    func testQwen2Scanner_SplitsLikeTheRegex() throws { try check(.qwen2) }

    func testSmolLMPreTokenizer_IsolatesEveryDigit() {
        let tokenizer = try? BPETokenizer(vocabulary: [], merges: [], addedTokens: [], preTokenizer: .smollm,
                                          bosTokenId: nil, eosTokenId: nil, addBOS: false)
        XCTAssertEqual(tokenizer?.preTokenize("ab 123x ²"), ["ab", " ", "1", "2", "3", "x", " ", "²"])
    }

    func testGGUFPreNames_MapToPatterns() {
        XCTAssertEqual(PreTokenizer(ggufPre: "smollm"), .gpt2, "Hugging Face's GGUF converter has no smollm split")
        XCTAssertEqual(PreTokenizer(ggufPre: "llama-bpe"), .llama3)
        XCTAssertEqual(PreTokenizer(ggufPre: "qwen2"), .qwen2)
        XCTAssertEqual(PreTokenizer(ggufPre: "gpt2"), .gpt2)
        XCTAssertEqual(PreTokenizer(ggufPre: nil), .gpt2)
    }
}
