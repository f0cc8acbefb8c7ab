import Foundation
import Tokenizer
import XCTest

/// The `tokenizer.json` path, on a tiny BPE trained by the fixture script with `tokenizers`
/// (Split with the Llama 3 pattern + ByteLevel, merges as pairs, added tokens, a BOS template).
final class TokenizerJSONTests: XCTestCase {
    func testTinyTokenizerJSON_EncodesLikeTokenizers() throws {
        let tokenizer = try BPETokenizer(tokenizerJSON: [UInt8](TestSupport.fixture("tiny_tokenizer")))
        XCTAssertEqual(tokenizer.preTokenizer, .llama3)
        XCTAssertEqual(tokenizer.bosTokenId, 0)
        XCTAssertTrue(tokenizer.addBOS)
        XCTAssertEqual(tokenizer.vocabularySize, 400)
        let cases = try XCTUnwrap(JSONSerialization.jsonObject(with: TestSupport.fixture("tiny_tokenizer_cases")) as? [[String: Any]])
        XCTAssertGreaterThan(cases.count, 25)
        for entry in cases {
            let text = try XCTUnwrap(entry["text"] as? String)
            XCTAssertEqual(tokenizer.encode(text), TestSupport.ids(entry["ids"]), "text \(text.debugDescription)")
            XCTAssertEqual(tokenizer.decode(tokenizer.encode(text, addSpecialTokens: false)), text)
        }
    }

    func testMergesAsStrings_EncodeLikeMergesAsPairs() throws {
        let bytes = [UInt8](try TestSupport.fixture("tiny_tokenizer"))
        var root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        var model = try XCTUnwrap(root["model"] as? [String: Any])
        model["merges"] = try XCTUnwrap(model["merges"] as? [[String]]).map { $0.joined(separator: " ") }
        root["model"] = model
        let rewritten = [UInt8](try JSONSerialization.data(withJSONObject: root))
        let a = try BPETokenizer(tokenizerJSON: bytes), b = try BPETokenizer(tokenizerJSON: rewritten)
        let text = "The 2000 film was released in 12 countries ."
        XCTAssertEqual(a.encode(text), b.encode(text))
        XCTAssertGreaterThan(a.encode(text).count, 3)
    }

    func testUnsupportedModel_ThrowsNamingTheField() {
        let json = #"{"model": {"type": "WordPiece", "vocab": {}}}"#
        XCTAssertThrowsError(try BPETokenizer(tokenizerJSON: Array(json.utf8))) { error in
            XCTAssertEqual(error as? TokenizerError, .unsupported(field: "model.type", value: "WordPiece"))
        }
    }

    func testUnknownSplitRegex_Throws() {
        let json = #"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\w+"}, "behavior": "Isolated"}, {"type": "ByteLevel", "use_regex": false}]}}"#
        XCTAssertThrowsError(try BPETokenizer(tokenizerJSON: Array(json.utf8))) { error in
            XCTAssertEqual(error as? TokenizerError, .unsupported(field: "pre_tokenizer Split pattern", value: #"\w+"#))
        }
    }

    func testGarbage_ThrowsInvalidJSON() {
        XCTAssertThrowsError(try BPETokenizer(tokenizerJSON: Array("{not json".utf8))) { error in
            guard case .invalidJSON = error as? TokenizerError else { return XCTFail("\(error)") }
        }
    }
}
