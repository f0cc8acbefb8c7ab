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

    /// Tokenizer metadata of a GGUF (header only, no tensor is dequantised).
    static func ggufTokenizerData(path: String) throws -> GGUFTokenizerData {
        guard let data = try GGUFFile(path: path).tokenizerData() else {
            throw TestLoadError(message: "\(path) has no tokenizer.ggml.model")
        }
        return data
    }

    /// SmolLM2-135M-Instruct's tokenizer metadata from the GGUF, read once.
    static let smolLM2Data: Result<GGUFTokenizerData, TestLoadError> = {
        do {
            return .success(try ggufTokenizerData(path: ggufPath))
        } catch {
            return .failure(TestLoadError(message: "\(ggufPath): \(error)"))
        }
    }()

    /// The tokenizer built once (its word cache shared by every test).
    static let smolLM2: Result<BPETokenizer, TestLoadError> = smolLM2Data.flatMap { data in
        do { return .success(try BPETokenizer(.gguf(data))) } catch { return .failure(TestLoadError(message: "\(error)")) }
    }

    static func smolLM2Tokenizer() throws -> BPETokenizer { try smolLM2.get() }

    /// A tokenizer built now, with an empty word cache.
    static func freshSmolLM2Tokenizer() throws -> BPETokenizer { try BPETokenizer(.gguf(smolLM2Data.get())) }
}

struct TestLoadError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
