import Foundation
import XCTest
import Tensor
@testable import Checkpoint

final class GGUFLoaderTests: XCTestCase {
    private func fixture(_ name: String, _ ext: String) throws -> String {
        try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures")).path
    }

    func testTinyGGUF_MatchesTransformersGGUFLoading() throws {
        let ck = try CheckpointLoader.load(path: try fixture("tiny_llama", "gguf"))
        let expected = try SafetensorsFile(path: try fixture("tiny_llama_expected", "safetensors")).allTensors()
        XCTAssertEqual(Set(ck.tensors.keys), Set(expected.keys))
        var worst: Float = 0
        for (name, e) in expected {
            let g = try XCTUnwrap(ck.tensors[name], name)
            XCTAssertEqual(g.shape, e.shape, name)
            let d = zip(g.data, e.data).map { abs($0 - $1) }.max() ?? 0
            worst = max(worst, d)
            XCTAssertLessThanOrEqual(d, 1e-6, name)
        }
        print("tiny GGUF vs transformers: \(expected.count) tensors, maxdiff \(worst)")
        XCTAssertEqual(ck.config, ModelConfig(architecture: .llama, vocabSize: 64, hiddenSize: 64, intermediateSize: 96, numLayers: 2,
                                              numHeads: 4, numKVHeads: 2, headDim: 16, maxPositions: 128, normEps: 1e-5,
                                              ropeTheta: 50000, tieWordEmbeddings: false, bosTokenId: 1, eosTokenId: 2))
        XCTAssertEqual(ck.storageTypes["model.layers.0.self_attn.q_proj.weight"], "Q4_1")
        XCTAssertEqual(ck.storageTypes["model.embed_tokens.weight"], "Q8_0")
        guard case .gguf(let tok)? = ck.tokenizer else { return XCTFail("no tokenizer") }
        XCTAssertEqual(tok.model, "gpt2")
        XCTAssertEqual(tok.pre, "smollm")
        XCTAssertEqual(tok.tokens.count, 64)
        XCTAssertEqual(tok.merges, ["a a", "b b"])
        XCTAssertEqual(tok.tokenTypes?.prefix(4), [3, 3, 3, 1])
        XCTAssertFalse(tok.addBOS)
    }

    func testGGUFFile_ExposesMetadataAndTensorTable() throws {
        let g = try GGUFFile(path: try fixture("tiny_llama", "gguf"))
        XCTAssertEqual(g.version, 3)
        XCTAssertEqual(g.alignment, 32)
        XCTAssertEqual(g["general.architecture"]?.stringValue, "llama")
        XCTAssertEqual(g["llama.block_count"]?.intValue, 2)
        XCTAssertEqual(g.tensors.count, 21)
        let q = try XCTUnwrap(g.info("blk.0.attn_q.weight"))
        XCTAssertEqual(q.dims, [64, 64]); XCTAssertEqual(q.type, .Q4_1)
        XCTAssertEqual(q.range.count, 64 * 64 / 32 * 20)
        XCTAssertEqual(g.dataOffset % 32, 0)
    }

    func testUnpermute_InvertsPermute() {
        let w = randomTensor([3 * 8, 5], seed: 9)
        var p = w.data, back = w.data
        w.data.withUnsafeBufferPointer { src in p.withUnsafeMutableBufferPointer { permuteRoPERows($0.baseAddress!, src.baseAddress!, heads: 3, headDim: 8, cols: 5) } }
        p.withUnsafeBufferPointer { src in back.withUnsafeMutableBufferPointer { unpermuteRoPERows($0.baseAddress!, src.baseAddress!, heads: 3, headDim: 8, cols: 5) } }
        XCTAssertNotEqual(p, w.data)
        XCTAssertEqual(back, w.data)
        // GGUF row 1 (pair 0, second of pair) is HF row headDim/2 = 4.
        XCTAssertEqual(Array(p[5..<10]), Array(w.data[20..<25]))
    }

    func testNameMapping_RoundTrips() {
        XCTAssertEqual(GGUFNames.huggingFaceName("blk.12.ffn_down.weight"), "model.layers.12.mlp.down_proj.weight")
        XCTAssertEqual(GGUFNames.huggingFaceName("blk.0.attn_q.bias"), "model.layers.0.self_attn.q_proj.bias")
        XCTAssertEqual(GGUFNames.huggingFaceName("output.weight"), "lm_head.weight")
        XCTAssertNil(GGUFNames.huggingFaceName("rope_freqs.weight"))
        for n in ["token_embd.weight", "output_norm.weight", "blk.3.attn_output.weight", "blk.29.ffn_norm.weight", "blk.1.attn_k.bias"] {
            XCTAssertEqual(GGUFNames.huggingFaceName(n).flatMap { GGUFNames.ggufName($0) }, n)
        }
    }

    func testSmolLM2_LoadsWithConfigAndSlicesMatchingTransformers() throws {
        guard FileManager.default.fileExists(atPath: smolLMPath) else { throw XCTSkip("SmolLM2 GGUF not present") }
        let t0 = Date()
        let g = try GGUFFile(path: smolLMPath)
        let tOpen = Date().timeIntervalSince(t0)
        _ = try g.tokenizerData()
        let tTok = Date().timeIntervalSince(t0) - tOpen
        let t1 = Date(), c1 = clock()
        let ck = try CheckpointLoader.load(path: smolLMPath)
        let seconds = Date().timeIntervalSince(t1), cpu = Double(clock() - c1) / Double(CLOCKS_PER_SEC)
        print(String(format: "SmolLM2 GGUF header+metadata parse: %.3f s, tokenizer extraction %.3f s", tOpen, tTok))
        let params = ck.tensors.values.reduce(0) { $0 + $1.count }
        print(String(format: "SmolLM2 GGUF load + dequantise: %.3f s wall, %.3f s CPU (all threads), %d tensors, %d parameters",
                     seconds, cpu, ck.tensors.count, params))
        XCTAssertEqual(params, 134_515_008)
        XCTAssertEqual(ck.config, ModelConfig(architecture: .llama, vocabSize: 49152, hiddenSize: 576, intermediateSize: 1536, numLayers: 30,
                                              numHeads: 9, numKVHeads: 3, headDim: 64, maxPositions: 8192, normEps: 1e-5,
                                              ropeTheta: 100000, tieWordEmbeddings: true, bosTokenId: ck.config.bosTokenId, eosTokenId: ck.config.eosTokenId))
        let slices = try SafetensorsFile(path: try fixture("smollm2_slices", "safetensors")).allTensors()
        var worst: Float = 0
        for (name, e) in slices {
            let g = try XCTUnwrap(ck.tensors[name], name)
            let cols = e.shape.count == 2 ? e.shape[1] : 1
            for r in 0..<e.shape[0] {
                for c in 0..<cols {
                    let d = abs(g.data[r * (e.shape.count == 2 ? g.cols : 1) + c] - e.data[r * cols + c])
                    worst = max(worst, d)
                }
            }
        }
        print("SmolLM2 slices vs transformers: maxdiff \(worst)")
        XCTAssertLessThanOrEqual(worst, 1e-6)
        guard case .gguf(let tok)? = ck.tokenizer else { return XCTFail("no tokenizer") }
        XCTAssertEqual(tok.tokens.count, 49152)
        XCTAssertEqual(tok.merges.count, 48900)
        XCTAssertEqual(tok.pre, "smollm")
    }
}

final class GGUFInspectTests: XCTestCase {
    func testInspectionReport_ListsMetadataTypesAndTensors() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "tiny_llama", withExtension: "gguf", subdirectory: "Fixtures"))
        let g = try GGUFFile(path: url.path)
        let r = g.inspectionReport(maxTensors: 3)
        print(r.split(separator: "\n").prefix(4).joined(separator: "\n"))
        XCTAssertTrue(r.contains("general.architecture = \"llama\""))
        XCTAssertTrue(r.contains("blk.0.attn_norm.weight") || r.contains("token_embd.weight"))
        XCTAssertTrue(r.contains("... 18 more tensors"))
        XCTAssertEqual(g.parameterCount, g.parametersByType.reduce(0) { $0 + $1.count })
        XCTAssertEqual(g.parametersByType.first?.type, .Q4_1)
    }
}
