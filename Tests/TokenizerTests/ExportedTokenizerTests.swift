import Checkpoint
import Foundation
import Model
import Tokenizer
import XCTest

/// The tokenizer.json Surgeon writes into a Hugging Face directory must load back into Surgeon.
final class ExportedTokenizerTests: XCTestCase {
    func testWrittenTokenizerJSON_LoadsBack_AndSplitsDigitsLikeSmolLM() throws {
        guard FileManager.default.fileExists(atPath: TestSupport.ggufPath) else { throw XCTSkip("SmolLM2 not installed") }
        let data = try TestSupport.ggufTokenizerData(path: TestSupport.ggufPath)
        let json = try XCTUnwrap(data.huggingFaceTokenizerJSON())
        let exported = try BPETokenizer(tokenizerJSON: json)
        let smollm = try BPETokenizer(tokens: data.tokens, merges: data.merges, tokenTypes: data.tokenTypes,
                                      preTokenizer: .smollm, bosTokenId: data.bosTokenId.map(Int32.init),
                                      eosTokenId: data.eosTokenId.map(Int32.init), addBOS: data.addBOS)
        let text = try String(contentsOfFile: TestSupport.wikitextTestPath, encoding: .utf8).prefix(200_000)
        let sample = String(text) + " x2y 10x ²³ ½ 1234567 <|im_start|>user\nhi<|im_end|>"
        XCTAssertEqual(exported.encode(sample), smollm.encode(sample))
        XCTAssertEqual(exported.decode(exported.encode(sample)), sample)
    }
}
