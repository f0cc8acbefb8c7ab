import Foundation
import Tokenizer
import XCTest

/// SmolLM2-135M-Instruct's tokenizer from the GGUF against Hugging Face (fixtures from
/// scripts/fixtures/make_tokenizer_fixtures.py).
final class SmolLM2ParityTests: XCTestCase {
    private func wikitext() throws -> String {
        let path = TestSupport.wikitextTestPath
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw XCTSkip("\(path) not found")
        }
        return text
    }

    func testGGUFTokenizer_HasSmolLM2VocabularyAndSpecialTokens() throws {
        let tokenizer = try TestSupport.smolLM2Tokenizer()
        let fixture = try TestSupport.fixtureObject("smollm2_tricky")
        XCTAssertEqual(tokenizer.vocabularySize, (fixture["vocab_size"] as? NSNumber)?.intValue)
        XCTAssertEqual(tokenizer.bosTokenId, (fixture["bos"] as? NSNumber)?.int32Value)
        XCTAssertEqual(tokenizer.eosTokenId, (fixture["eos"] as? NSNumber)?.int32Value)
        XCTAssertFalse(tokenizer.addBOS)
        XCTAssertEqual(tokenizer.preTokenizer, .gpt2)
        XCTAssertEqual(tokenizer.specialTokenIds, Set(0..<17))
        XCTAssertEqual(tokenizer.id(of: "<|im_start|>"), 1)
        XCTAssertEqual(tokenizer.token(of: 216), "Ġ")
    }

    func testEncodeWikiText2Test_MatchesHuggingFaceCountHashHeadAndTail() throws {
        let tokenizer = try TestSupport.smolLM2Tokenizer()
        let text = try wikitext()
        let fixture = try TestSupport.fixtureObject("smollm2_wikitext2_test")
        let start = Date()
        let ids = tokenizer.encode(text)
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "wikitext2 test: %d bytes -> %d tokens in %.3f s (%.2f MB/s)",
                     text.utf8.count, ids.count, seconds, Double(text.utf8.count) / seconds / 1e6))
        let head = TestSupport.ids(fixture["head"]), tail = TestSupport.ids(fixture["tail"])
        if let mismatch = zip(ids, head).enumerated().first(where: { $0.element.0 != $0.element.1 }) {
            XCTFail("first mismatch at token \(mismatch.offset): ours \(mismatch.element.0), HF \(mismatch.element.1)")
        }
        let ourTail = Array(ids.suffix(tail.count))
        if let mismatch = zip(ourTail, tail).enumerated().first(where: { $0.element.0 != $0.element.1 }) {
            XCTFail("first tail mismatch at token \(ids.count - tail.count + mismatch.offset) of ours: \(mismatch.element.0) vs HF \(mismatch.element.1)")
        }
        XCTAssertEqual(ids.count, (fixture["count"] as? NSNumber)?.intValue)
        XCTAssertEqual(ids.count, 304_986)
        XCTAssertEqual(SHA256.hex(ids: ids), fixture["sha256_int32_le"] as? String)
    }

    func testTrickyStrings_MatchHuggingFace() throws {
        let tokenizer = try TestSupport.smolLM2Tokenizer()
        let cases = try XCTUnwrap(TestSupport.fixtureObject("smollm2_tricky")["cases"] as? [[String: Any]])
        XCTAssertGreaterThan(cases.count, 35)
        for entry in cases {
            let text = try XCTUnwrap(entry["text"] as? String)
            XCTAssertEqual(tokenizer.encode(text), TestSupport.ids(entry["ids"]), "text \(text.debugDescription)")
        }
    }

    func testDecodeOfEncode_ReturnsWholeTestFile() throws {
        let tokenizer = try TestSupport.smolLM2Tokenizer()
        let text = try wikitext()
        let ids = tokenizer.encode(text)
        let start = Date()
        let decoded = tokenizer.decode(ids)
        print(String(format: "wikitext2 test: decode of %d tokens in %.3f s", ids.count, Date().timeIntervalSince(start)))
        XCTAssertEqual(decoded.utf8.count, text.utf8.count)
        XCTAssertTrue(decoded == text, "decode(encode(text)) differs from the test file")
    }

    func testTrickyStrings_RoundTripThroughDecode() throws {
        let tokenizer = try TestSupport.smolLM2Tokenizer()
        let cases = try XCTUnwrap(TestSupport.fixtureObject("smollm2_tricky")["cases"] as? [[String: Any]])
        for entry in cases {
            let text = try XCTUnwrap(entry["text"] as? String)
            XCTAssertEqual(tokenizer.decode(tokenizer.encode(text)), text)
        }
        XCTAssertEqual(tokenizer.decode([1, 4093, 198, 6004, 2], skipSpecialTokens: true), "user\nhi")
    }

    func testStreamDecoder_EmitsWholeCharactersAcrossTokens() throws {
        let tokenizer = try TestSupport.smolLM2Tokenizer()
        let text = "emoji 😀👍🏽 日本語 naïve"
        var stream = TokenStreamDecoder()
        var pieces: [String] = []
        for id in tokenizer.encode(text) { pieces.append(stream.push(id, tokenizer)) }
        pieces.append(stream.finish())
        XCTAssertEqual(pieces.joined(), text)
        XCTAssertFalse(pieces.contains { $0.contains("\u{FFFD}") }, "a piece split a character: \(pieces)")
        XCTAssertEqual(tokenizer.decodeToken(905), " world")
    }
}
