import Checkpoint
import Foundation
import Model
import Tokenizer
import XCTest

/// Paths and shared fixtures for the tokenizer tests.
enum TestSupport {
    /// The package root, from this file's path.
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let ggufPath = packageRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    static let wikitextTestPath = packageRoot.appendingPathComponent("../shared/data/wikitext2/test.txt").standardizedFileURL.path

    static func fixture(_ name: String) throws -> Data {
        let url = try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"),
                                "fixture \(name).json missing")
        return try Data(contentsOf: url)
    }

    static func fixtureObject(_ name: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: fixture(name)) as? [String: Any])
    }

    static func ids(_ value: Any?) -> [Int32] { (value as? [NSNumber] ?? []).map(\.int32Value) }

    /// Tokenizer metadata of the GGUF, read with the checkpoint module's GGUF parser.
    /// TODO(merge): switch to the checkpoint module's own `tokenizer.ggml.*` extraction once it exists.
    static func ggufTokenizerData(path: String) throws -> GGUFTokenizerData {
        let file = try GGUFFile(path: path)
        func strings(_ key: String) -> [String] { file[key]?.arrayValue?.compactMap(\.stringValue) ?? [] }
        return GGUFTokenizerData(
            model: file["tokenizer.ggml.model"]?.stringValue ?? "",
            pre: file["tokenizer.ggml.pre"]?.stringValue,
            tokens: strings("tokenizer.ggml.tokens"),
            merges: strings("tokenizer.ggml.merges"),
            tokenTypes: file["tokenizer.ggml.token_type"]?.arrayValue?.compactMap { $0.intValue.map(Int32.init) },
            bosTokenId: file["tokenizer.ggml.bos_token_id"]?.intValue,
            eosTokenId: file["tokenizer.ggml.eos_token_id"]?.intValue,
            unknownTokenId: file["tokenizer.ggml.unknown_token_id"]?.intValue,
            paddingTokenId: file["tokenizer.ggml.padding_token_id"]?.intValue,
            addBOS: file["tokenizer.ggml.add_bos_token"]?.boolValue ?? false,
            chatTemplate: file["tokenizer.chat_template"]?.stringValue)
    }

    /// SmolLM2-135M-Instruct's tokenizer from the GGUF, built once.
    static let smolLM2: Result<BPETokenizer, TestLoadError> = {
        do {
            return .success(try BPETokenizer(.gguf(ggufTokenizerData(path: ggufPath))))
        } catch {
            return .failure(TestLoadError(message: "\(ggufPath): \(error)"))
        }
    }()

    static func smolLM2Tokenizer() throws -> BPETokenizer { try smolLM2.get() }
}

struct TestLoadError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
