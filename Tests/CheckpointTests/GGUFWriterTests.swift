import Foundation
import XCTest
import Tensor
@testable import Checkpoint

final class GGUFWriterTests: XCTestCase {
    private func tinyFixture() throws -> LoadedCheckpoint {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "tiny_llama", withExtension: "gguf", subdirectory: "Fixtures"))
        return try CheckpointLoader.load(path: url.path)
    }

    private func reread(_ bytes: [UInt8]) throws -> LoadedCheckpoint {
        try GGUFFile(file: MappedFile(path: "written.gguf", contents: bytes)).load()
    }

    func testWriteF32ThenRead_GivesIdenticalTensorsConfigAndTokenizer() throws {
        let ck = try tinyFixture()
        let back = try reread(try GGUFWriter.encode(ck, storage: .F32))
        XCTAssertEqual(back.config, ck.config)
        XCTAssertEqual(back.tensors, ck.tensors)
        guard case .gguf(let a)? = ck.tokenizer, case .gguf(let b)? = back.tokenizer else { return XCTFail("tokenizer lost") }
        XCTAssertEqual(a, b)
    }

    func testSentencePieceTokenizerFields_SurviveTheRoundTrip() throws {
        var ck = try tinyFixture()
        guard case .gguf(var t)? = ck.tokenizer else { return XCTFail("no GGUF tokenizer") }
        XCTAssertNil(t.scores)
        t.model = "llama"
        t.scores = t.tokens.indices.map { -Float($0) / 4 }
        t.addSpacePrefix = false
        t.addEOS = false
        ck.tokenizer = .gguf(t)
        let back = try reread(try GGUFWriter.encode(ck, storage: .F32))
        guard case .gguf(let b)? = back.tokenizer else { return XCTFail("tokenizer lost") }
        XCTAssertEqual(b, t)
        XCTAssertEqual(b.scores?.count, t.tokens.count)
    }

    func testWriteF16AndQ8_0_RoundTripWithinQuantisationError() throws {
        let ck = try tinyFixture()
        for (storage, tol) in [(GGUFWriter.StorageType.F16, Float(1e-3)), (.Q8_0, 4e-3)] {
            let g = try GGUFFile(file: MappedFile(path: "w.gguf", contents: try GGUFWriter.encode(ck, storage: storage)))
            XCTAssertEqual(g.info("blk.0.attn_q.weight")?.type.name, storage.rawValue)
            XCTAssertEqual(g.info("blk.0.attn_norm.weight")?.type, .F32)
            let back = try g.load()
            let d = ck.tensors.map { k, v in zip(v.data, back.tensors[k]!.data).map { abs($0 - $1) }.max() ?? 0 }.max()!
            print("GGUF \(storage) round trip maxdiff \(d)")
            XCTAssertLessThanOrEqual(d, tol)
        }
    }

    func testTiedCheckpoint_HasNoOutputTensor() throws {
        var ck = try tinyFixture()
        ck.tensors["lm_head.weight"] = nil
        ck.config.tieWordEmbeddings = true
        let g = try GGUFFile(file: MappedFile(path: "w.gguf", contents: try GGUFWriter.encode(ck)))
        XCTAssertNil(g.info("output.weight"))
        XCTAssertTrue(try g.load().config.tieWordEmbeddings)
    }

    func testCompactWidths_WrittenAsPerLayerArrays() throws {
        var b = GGUFBuilder.tinyLlama()
        b.kv[5].1 = .array([.uint32(12)])
        let ck0 = try GGUFFile(file: MappedFile(path: "t", contents: b.bytes())).load()
        XCTAssertEqual(ck0.config.ffnWidths, [12])
        let back = try reread(try GGUFWriter.encode(ck0, storage: .F32))
        XCTAssertEqual(back.config, ck0.config)
    }

    func testOPT_IsRefused() {
        let c = ModelConfig(architecture: .opt, vocabSize: 16, hiddenSize: 8, intermediateSize: 12, numLayers: 1, numHeads: 2,
                            numKVHeads: 2, headDim: 4, maxPositions: 64, normEps: 1e-5, tieWordEmbeddings: true)
        XCTAssertThrowsError(try GGUFWriter.encode(LoadedCheckpoint(config: c, tensors: [:], tokenizer: nil, source: "x"))) {
            guard case .unsupportedArchitecture = $0 as? CheckpointError else { return XCTFail("\($0)") }
        }
    }

    func testQuantizeQ8_0_MatchesGGUFPackage() throws {
        let dir = "Fixtures/dequant"
        let x = try Data(contentsOf: XCTUnwrap(Bundle.module.url(forResource: "quantize_Q8_0", withExtension: "f32", subdirectory: dir)))
            .withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let expected = [UInt8](try Data(contentsOf: XCTUnwrap(Bundle.module.url(forResource: "quantize_Q8_0", withExtension: "blocks", subdirectory: dir))))
        var got = [UInt8](repeating: 0, count: x.count / 32 * 34)
        got.withUnsafeMutableBytes { out in x.withUnsafeBufferPointer { quantizeQ8_0(out.baseAddress!, $0.baseAddress!, blocks: x.count / 32) } }
        let differing = zip(got, expected).filter { $0 != $1 }.count
        print("quantize Q8_0: \(differing) of \(got.count) bytes differ from gguf")
        XCTAssertEqual(got, expected)
    }

    /// Writes the SmolLM2 GGUF re-export (F32) for scripts/fixtures/check_gguf_export.py when SURGEON_EXPORT_DIR is set.
    func testExportSmolLM2GGUF_WhenRequested() throws {
        guard let out = ProcessInfo.processInfo.environment["SURGEON_EXPORT_DIR"] else { throw XCTSkip("set SURGEON_EXPORT_DIR to export") }
        guard FileManager.default.fileExists(atPath: smolLMPath) else { throw XCTSkip("SmolLM2 GGUF not present") }
        let ck = try CheckpointLoader.load(path: smolLMPath)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try GGUFWriter.write(ck, to: out + "/smollm2-f32.gguf", storage: .F32)
        XCTAssertEqual(try CheckpointLoader.load(path: out + "/smollm2-f32.gguf").tensors, ck.tensors)
    }
}
