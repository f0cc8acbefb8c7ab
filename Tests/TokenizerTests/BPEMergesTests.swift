import Checkpoint
import Model
@testable import Tokenizer
import XCTest

final class BPEMergesTests: XCTestCase {
    /// The heap merge loop (long words) against the quadratic reference, on random byte strings.
    func testHeapMerges_AgreeWithNaiveMerges() throws {
        let tokenizer = try TestSupport.smolLM2Tokenizer()
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("aaabbeeinnorsttt  ,.".utf8)
        var lengths = 0
        for trial in 0..<300 {
            let length = 2 + trial % 200
            let bytes = (0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }
            var naive = bytes.map { tokenizer.idOfByte[Int($0)] }
            var heap = naive
            tokenizer.merges.applyNaive(&naive)
            tokenizer.merges.applyHeap(&heap)
            XCTAssertEqual(naive, heap, "bytes \(String(decoding: bytes, as: UTF8.self).debugDescription)")
            lengths += naive.count
        }
        print("heap vs naive merges: 300 words agree (\(lengths) tokens)")
    }

    func testLlamaSentencePieceGGUF_ThrowsUnsupported() {
        let data = GGUFTokenizerData(model: "llama", pre: nil, tokens: ["<unk>", "a"], merges: [], tokenTypes: nil,
                                     bosTokenId: nil, eosTokenId: nil, unknownTokenId: 0, paddingTokenId: nil,
                                     addBOS: true, chatTemplate: nil)
        XCTAssertThrowsError(try BPETokenizer(.gguf(data))) { error in
            guard case .unsupported(let field, _) = error as? TokenizerError else { return XCTFail("\(error)") }
            XCTAssertEqual(field, "GGUF tokenizer.ggml.model")
        }
    }

    func testBadMergeRule_Throws() {
        XCTAssertThrowsError(try BPETokenizer(tokens: ["a", "b"], merges: ["a b c"], tokenTypes: nil, preTokenizer: .gpt2,
                                              bosTokenId: nil, eosTokenId: nil, addBOS: false)) { error in
            XCTAssertEqual(error as? TokenizerError, .badMerge(index: 0, rule: "a b c"))
        }
    }
}
