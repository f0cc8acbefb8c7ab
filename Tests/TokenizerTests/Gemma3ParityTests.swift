import Checkpoint
import Foundation
import Model
import Tokenizer
import XCTest

/// Gemma 3 270M's SentencePiece tokenizer, built from the GGUF's metadata only (no weights), against
/// transformers' GGUF-loaded `GemmaTokenizer` (fixtures from scripts/fixtures/make_gemma3_fixtures.py).
/// Skipped, with the reason, when models/gemma-3-270m-Q4_K_M.gguf is absent (scripts/setup.sh fetches it).
final class Gemma3ParityTests: XCTestCase {
    static let ggufPath = TestSupport.packageRoot.appendingPathComponent("models/gemma-3-270m-Q4_K_M.gguf").path

    /// The metadata, read once.
    static let data: Result<GGUFTokenizerData, TestLoadError> = {
        do { return .success(try TestSupport.ggufTokenizerData(path: ggufPath)) } catch {
            return .failure(TestLoadError(message: "\(ggufPath): \(error)"))
        }
    }()

    static let shared: Result<ModelTokenizer, TestLoadError> = data.flatMap { data in
        do { return .success(try ModelTokenizer(.gguf(data))) } catch { return .failure(TestLoadError(message: "\(error)")) }
    }

    private func tokenizer() throws -> ModelTokenizer {
        guard FileManager.default.fileExists(atPath: Self.ggufPath) else {
            throw XCTSkip("\(Self.ggufPath) absent: run scripts/setup.sh to fetch Gemma 3 270M")
        }
        return try Self.shared.get()
    }

    private func wikitext() throws -> String {
        let path = TestSupport.wikitextTestPath
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw XCTSkip("\(path) not found") }
        return text
    }

    func testGGUFMetadata_IsSentencePieceWithScoresAndNoSpacePrefix() throws {
        _ = try tokenizer()
        let data = try Self.data.get()
        XCTAssertEqual(data.model, "llama")
        XCTAssertEqual(data.tokens.count, 262_144)
        XCTAssertEqual(data.scores?.count, 262_144)
        XCTAssertEqual(data.addSpacePrefix, false)
        XCTAssertEqual(data.addEOS, false)
        XCTAssertTrue(data.addBOS)
    }

    func testTokenizer_HasGemmaVocabularyAndSpecialTokens() throws {
        let tokenizer = try tokenizer()
        guard case .sentencePiece(let sp) = tokenizer else { return XCTFail("expected SentencePiece, got \(tokenizer)") }
        let fixture = try TestSupport.fixtureObject("gemma3_tricky")
        XCTAssertEqual(tokenizer.vocabularySize, (fixture["vocab_size"] as? NSNumber)?.intValue)
        XCTAssertEqual(tokenizer.bosTokenId, (fixture["bos"] as? NSNumber)?.int32Value)
        XCTAssertEqual(tokenizer.eosTokenId, (fixture["eos"] as? NSNumber)?.int32Value)
        XCTAssertTrue(tokenizer.addBOS)
        XCTAssertEqual(tokenizer.id(of: "<start_of_turn>"), 105)
        XCTAssertEqual(tokenizer.id(of: "  "), 138, "a space run is found under its file spelling")
        XCTAssertEqual(tokenizer.token(of: 236743), "\u{2581}")
        XCTAssertTrue(tokenizer.isSpecial(2) && tokenizer.isSpecial(106) && !tokenizer.isSpecial(107))
        XCTAssertEqual(sp.tokenBytes(303), [0x41], "<0x41>")
    }

    func testEncodeWikiText2Test_MatchesTransformersCountHashHeadAndTail() throws {
        let text = try wikitext()
        let fixture = try TestSupport.fixtureObject("gemma3_wikitext2_test")
        _ = try tokenizer()
        var start = Date()
        let fresh = try ModelTokenizer(.gguf(Self.data.get()))
        print(String(format: "Gemma 3 tokenizer built from GGUF metadata in %.3f s", Date().timeIntervalSince(start)))
        start = Date()
        let ids = fresh.encode(text)
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "gemma3 wikitext2 test: %d bytes -> %d tokens in %.3f s (%.2f MB/s)",
                     text.utf8.count, ids.count, seconds, Double(text.utf8.count) / seconds / 1e6))
        let head = TestSupport.ids(fixture["head"]), tail = TestSupport.ids(fixture["tail"])
        if let mismatch = zip(ids, head).enumerated().first(where: { $0.element.0 != $0.element.1 }) {
            XCTFail("first mismatch at token \(mismatch.offset): ours \(mismatch.element.0), transformers \(mismatch.element.1)")
        }
        let ourTail = Array(ids.suffix(tail.count))
        if let mismatch = zip(ourTail, tail).enumerated().first(where: { $0.element.0 != $0.element.1 }) {
            XCTFail("first tail mismatch at token \(ids.count - tail.count + mismatch.offset) of ours: \(mismatch.element.0) vs transformers \(mismatch.element.1)")
        }
        XCTAssertEqual(ids.first, 2, "BOS first, as the GGUF asks")
        XCTAssertEqual(ids.count, (fixture["count"] as? NSNumber)?.intValue)
        XCTAssertEqual(ids.count, 292_283)
        XCTAssertEqual(SHA256.hex(ids: ids), fixture["sha256_int32_le"] as? String)
    }

    func testEncodeWikiText2Valid_MatchesTransformersCountAndHash() throws {
        let tokenizer = try tokenizer()
        let path = TestSupport.packageRoot.appendingPathComponent("../shared/data/wikitext2/valid.tokens").standardizedFileURL.path
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw XCTSkip("\(path) not found") }
        let fixture = try XCTUnwrap(TestSupport.fixtureObject("gemma3_wikitext2_test")["valid"] as? [String: Any])
        let ids = tokenizer.encode(text)
        XCTAssertEqual(ids.count, (fixture["count"] as? NSNumber)?.intValue)
        XCTAssertEqual(SHA256.hex(ids: ids), fixture["sha256_int32_le"] as? String)
    }

    func testTrickyStrings_MatchTransformersIdsAndDecode() throws {
        let tokenizer = try tokenizer()
        let cases = try XCTUnwrap(TestSupport.fixtureObject("gemma3_tricky")["cases"] as? [[String: Any]])
        XCTAssertGreaterThan(cases.count, 200)
        for entry in cases {
            let text = try XCTUnwrap(entry["text"] as? String)
            let ids = tokenizer.encode(text)
            XCTAssertEqual(ids, TestSupport.ids(entry["ids"]), "text \(text.debugDescription)")
            XCTAssertEqual(tokenizer.decode(ids), entry["decoded"] as? String, "decode of \(text.debugDescription)")
        }
    }

    func testTrickyStrings_RoundTripThroughDecode() throws {
        let tokenizer = try tokenizer()
        let cases = try XCTUnwrap(TestSupport.fixtureObject("gemma3_tricky")["cases"] as? [[String: Any]])
        for entry in cases {
            let text = try XCTUnwrap(entry["text"] as? String)
            if text.contains("\u{2581}") { continue }  // a literal `▁` decodes as a space (transformers too)
            XCTAssertEqual(tokenizer.decode(tokenizer.encode(text), skipSpecialTokens: false), "<bos>" + text)
            XCTAssertEqual(tokenizer.decode(tokenizer.encode(text, addSpecialTokens: false)), text)
        }
        XCTAssertEqual(tokenizer.decode(tokenizer.encode("<start_of_turn>user\nhi<end_of_turn>"), skipSpecialTokens: true), "user\nhi")
    }

    func testDecodeOfEncode_ReturnsWholeTestFile() throws {
        let tokenizer = try tokenizer()
        let text = try wikitext()
        let ids = tokenizer.encode(text, addSpecialTokens: false)
        let start = Date()
        let decoded = tokenizer.decode(ids)
        print(String(format: "gemma3 wikitext2 test: decode of %d tokens in %.3f s", ids.count, Date().timeIntervalSince(start)))
        XCTAssertTrue(decoded == text, "decode(encode(text)) differs from the test file")
    }

    func testByteFallback_EncodesUnknownScalarAsItsUTF8Bytes() throws {
        let tokenizer = try tokenizer()
        let ids = tokenizer.encode("\u{F0000}", addSpecialTokens: false)  // a private-use plane-15 scalar
        XCTAssertEqual(ids, [481, 414, 366, 366], "<0xF3> <0xB0> <0x80> <0x80>")
        XCTAssertEqual(tokenizer.decode(ids), "\u{F0000}")
    }

    func testStreamDecoder_EmitsWholeCharactersAcrossByteTokens() throws {
        let tokenizer = try tokenizer()
        let text = "bytes \u{F0000}\u{0001} emoji 😀👍🏽 日本語 naïve  two spaces"
        var stream = TokenStreamDecoder()
        var pieces: [String] = []
        for id in tokenizer.encode(text, addSpecialTokens: false) { pieces.append(stream.push(id, tokenizer)) }
        pieces.append(stream.finish())
        XCTAssertEqual(pieces.joined(), text)
        XCTAssertFalse(pieces.contains { $0.contains("\u{FFFD}") }, "a piece split a character: \(pieces)")
    }

    func testAddedTokensOff_EncodesControlTokensThroughBPE() throws {
        let tokenizer = try tokenizer()
        let text = "a<end_of_turn>b\n"
        let plain = tokenizer.encode(text, addSpecialTokens: false, matchAddedTokens: false)
        XCTAssertFalse(plain.contains(106))
        XCTAssertEqual(tokenizer.decode(plain), text)
        XCTAssertTrue(tokenizer.encode(text, addSpecialTokens: false).contains(106))
    }
}

/// SentencePiece rules on a small hand-made vocabulary (no GGUF needed).
final class SentencePieceRulesTests: XCTestCase {
    private func make(_ tokens: [String], types: [Int32]? = nil) throws -> SentencePieceTokenizer {
        try SentencePieceTokenizer(tokens: tokens, tokenTypes: types, bosTokenId: nil, eosTokenId: nil,
                                   unknownTokenId: nil, addBOS: false)
    }

    func testMerges_LowerTokenIdFirstThenLongerLeftPiece() throws {
        // "abc": "ab" (id 3) ranks before "bc" (id 4), so a+b first, then ab+c = "abc".
        let t = try make(["a", "b", "c", "ab", "bc", "abc"])
        XCTAssertEqual(t.encode("abc"), [5])
        // Without "abc": "ab" wins over "bc" by id.
        let u = try make(["a", "b", "c", "bc", "ab"])
        XCTAssertEqual(u.encode("abc"), [0, 3], "ab (id 4) loses to bc (id 3)")
        XCTAssertEqual(try make(["a", "b", "c", "ab", "bc"]).encode("abc"), [3, 2])
    }

    func testCombiningMark_IsNotMergedIntoPrecomposedToken() throws {
        let t = try make(["e", "\u{301}", "\u{E9}"])
        XCTAssertEqual(t.encode("e\u{301}"), [0, 1], "bytes differ from the token é, though Swift strings compare equal")
        XCTAssertEqual(t.encode("\u{E9}"), [2])
    }

    func testSpaces_BecomeMetaspaceAndSpaceRunTokensMatch() throws {
        let t = try make(["a", "\u{2581}", "  ", "\u{2581}a"], types: [1, 1, 4, 1])
        XCTAssertEqual(t.encode(" a"), [3])
        XCTAssertEqual(t.encode("   a"), [2, 3], "two spaces merge into the stored \"  \" token, not matched as added text")
        XCTAssertEqual(t.decode([2, 3]), "   a")
    }

    func testUserDefinedAndControlTokens_MatchedWholeLongestFirst() throws {
        let t = try make(["a", "\n", "\n\n", "<x>", "<", "x", ">"], types: [1, 4, 4, 3, 1, 1, 1])
        XCTAssertEqual(t.encode("a\n\n\na<x>"), [0, 2, 1, 0, 3])
        XCTAssertEqual(t.specialTokenIds, [3])
        XCTAssertEqual(t.decode([0, 3, 0], skipSpecialTokens: true), "aa")
    }

    func testDummyPrefixTokenizer_Throws() {
        XCTAssertThrowsError(try SentencePieceTokenizer(tokens: ["a"], tokenTypes: nil, bosTokenId: nil, eosTokenId: nil,
                                                        unknownTokenId: nil, addBOS: true, addSpacePrefix: true)) { error in
            guard case .unsupported(let field, _) = error as? TokenizerError else { return XCTFail("\(error)") }
            XCTAssertEqual(field, "GGUF tokenizer.ggml.add_space_prefix")
        }
    }

    func testUnsupportedGGUFTokenizerModel_Throws() {
        let data = GGUFTokenizerData(model: "t5", pre: nil, tokens: ["<unk>", "a"], merges: [], tokenTypes: nil,
                                     bosTokenId: nil, eosTokenId: nil, unknownTokenId: 0, paddingTokenId: nil,
                                     addBOS: false, chatTemplate: nil)
        XCTAssertThrowsError(try ModelTokenizer(.gguf(data))) { error in
            guard case .unsupported(let field, let value) = error as? TokenizerError else { return XCTFail("\(error)") }
            XCTAssertEqual(field, "GGUF tokenizer.ggml.model")
            XCTAssertTrue(value.hasPrefix("t5"), value)
        }
        let llama2 = GGUFTokenizerData(model: "llama", pre: nil, tokens: ["<unk>", "a"], merges: [], tokenTypes: nil,
                                       bosTokenId: nil, eosTokenId: nil, unknownTokenId: 0, paddingTokenId: nil,
                                       addBOS: true, chatTemplate: nil)
        XCTAssertThrowsError(try ModelTokenizer(.gguf(llama2)), "no add_space_prefix reads as true (Llama 2), not implemented")
    }
}
