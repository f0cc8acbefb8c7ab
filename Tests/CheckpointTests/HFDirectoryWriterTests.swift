import Foundation
import XCTest
import Tensor
@testable import Checkpoint

final class HFDirectoryWriterTests: XCTestCase {
    private func tinyConfig(_ arch: ModelConfig.Architecture, tied: Bool) -> ModelConfig {
        ModelConfig(architecture: arch, vocabSize: 16, hiddenSize: 8, intermediateSize: 12, numLayers: 2, numHeads: 2,
                    numKVHeads: arch == .opt ? 2 : 1, headDim: 4, maxPositions: 64, normEps: 1e-5, ropeTheta: arch == .opt ? 10000 : 100000,
                    tieWordEmbeddings: tied, attentionBias: arch == .qwen2 || arch == .opt, bosTokenId: 0, eosTokenId: 2)
    }

    func testWriteThenRead_GivesIdenticalTensorsAndConfig() throws {
        for (arch, tied) in [(ModelConfig.Architecture.llama, true), (.llama, false), (.qwen2, true), (.mistral, false)] {
            let dir = try makeTempDir(self)
            let ck = LoadedCheckpoint(config: tinyConfig(arch, tied: tied), tensors: tinyLlamaTensors(tied: tied, bias: arch == .qwen2),
                                      tokenizer: .huggingFace(tokenizerJSON: Array("{}".utf8), tokenizerConfigJSON: Array("{\"a\":1}".utf8)),
                                      source: "test")
            let files = try HFDirectoryWriter.write(ck, to: dir)
            XCTAssertEqual(Set(files), ["model.safetensors", "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"])
            let back = try CheckpointLoader.load(path: dir)
            XCTAssertEqual(back.config, ck.config, "\(arch)")
            XCTAssertEqual(back.tensors, ck.tensors, "\(arch)")
            XCTAssertEqual(back.tensors["lm_head.weight"] == nil, tied)
            guard case .huggingFace(let j, let c)? = back.tokenizer else { return XCTFail() }
            XCTAssertEqual(j, Array("{}".utf8)); XCTAssertEqual(c, Array("{\"a\":1}".utf8))
        }
    }

    func testWriteThenRead_OPTAndCompactWidthsSurvive() throws {
        let dir = try makeTempDir(self)
        var config = tinyConfig(.opt, tied: true)
        config.doLayerNormBefore = false
        config.ffnWidths = [12, 5]; config.headCounts = [2, 1]; config.kvHeadCounts = [2, 1]
        let t = ["model.decoder.embed_tokens.weight": randomTensor([16, 8], seed: 4), "model.decoder.layers.1.fc1.weight": randomTensor([5, 8], seed: 5)]
        try HFDirectoryWriter.write(LoadedCheckpoint(config: config, tensors: t, tokenizer: nil, source: "test"), to: dir)
        let back = try CheckpointLoader.load(path: dir)
        XCTAssertEqual(back.config, config)
        XCTAssertEqual(back.tensors, t)
        XCTAssertNil(back.tokenizer)
    }

    func testHalfStorage_RoundTripsWithinHalfPrecision() throws {
        let dir = try makeTempDir(self)
        let ck = LoadedCheckpoint(config: tinyConfig(.llama, tied: true), tensors: tinyLlamaTensors(), tokenizer: nil, source: "test")
        try HFDirectoryWriter.write(ck, to: dir, storage: .BF16)
        let back = try CheckpointLoader.load(path: dir)
        XCTAssertEqual(back.storageTypes["model.norm.weight"], "BF16")
        let d = ck.tensors.map { k, v in zip(v.data, back.tensors[k]!.data).map { abs($0 - $1) }.max() ?? 0 }.max()!
        XCTAssertLessThanOrEqual(d, 4e-3)
        let config = try String(contentsOfFile: dir + "/config.json", encoding: .utf8)
        XCTAssertTrue(config.contains("\"torch_dtype\": \"bfloat16\""))
    }

    func testGGUFTokenizer_BecomesByteLevelBPETokenizerJSON() throws {
        let tok = GGUFTokenizerData(model: "gpt2", pre: "smollm", tokens: ["<|endoftext|>", "a", "b", "ab", "Ġ\"x"], merges: ["a b"],
                                    tokenTypes: [3, 1, 1, 1, 1], bosTokenId: 0, eosTokenId: 0, unknownTokenId: nil, paddingTokenId: nil,
                                    addBOS: false, chatTemplate: "{{x}}")
        let bytes = try XCTUnwrap(tok.huggingFaceTokenizerJSON())
        let json = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        XCTAssertEqual(json["model"]?["type"]?.stringValue, "BPE")
        XCTAssertEqual(json["model"]?["vocab"]?["Ġ\"x"]?.intValue, 4)
        var dup = tok
        dup.tokens.append("a")
        let dj = try JSONDecoder().decode(JSONValue.self, from: Data(try XCTUnwrap(dup.huggingFaceTokenizerJSON())))
        XCTAssertEqual(dj["model"]?["vocab"]?["a"]?.intValue, 5)
        XCTAssertEqual(dj["model"]?["vocab"]?.objectValue?.count, 5)
        XCTAssertEqual(json["model"]?["merges"], .array([.array([.string("a"), .string("b")])]))
        XCTAssertEqual(json["added_tokens"]?.arrayValue?.count, 1)
        XCTAssertEqual(json["pre_tokenizer"]?["pretokenizers"]?.arrayValue?.first?["pattern"]?["Regex"]?.stringValue, "\\p{N}")
        let cfg = try JSONDecoder().decode(JSONValue.self, from: Data(tok.huggingFaceTokenizerConfigJSON(modelMaxLength: 64)))
        XCTAssertEqual(cfg["eos_token"]?.stringValue, "<|endoftext|>")
        XCTAssertEqual(cfg["chat_template"]?.stringValue, "{{x}}")
    }

    func testSentencePieceTokenizer_TravelsAsTokenizerGGUF_AndReadsBack() throws {
        let tok = GGUFTokenizerData(model: "llama", pre: "default", tokens: ["<pad>", "<bos>", "<eos>", "▁a", "b", "▁ab"], merges: ["▁a b"],
                                    tokenTypes: [3, 3, 3, 1, 1, 1], bosTokenId: 1, eosTokenId: 2, unknownTokenId: nil, paddingTokenId: 0,
                                    addBOS: true, chatTemplate: nil)
        var t = tok
        t.scores = [0, 0, 0, -1, -2, -3]; t.addSpacePrefix = false; t.addEOS = false
        XCTAssertNil(t.huggingFaceTokenizerJSON(), "SentencePiece has no byte-level tokenizer.json")
        var cfg = tinyConfig(.llama, tied: true)
        cfg.vocabSize = 6
        let dir = try makeTempDir(self)
        let ck = LoadedCheckpoint(config: cfg, tensors: tinyLlamaTensors(tied: true, bias: false), tokenizer: .gguf(t), source: "test")
        let files = try HFDirectoryWriter.write(ck, to: dir)
        XCTAssertTrue(files.contains("tokenizer.gguf"))
        XCTAssertFalse(files.contains("tokenizer.json"))
        let back = try CheckpointLoader.load(path: dir)
        guard case .gguf(let b)? = back.tokenizer else { return XCTFail("the directory's tokenizer was lost") }
        XCTAssertEqual(b, t)
        // and a GGUF export of the directory carries it again
        let g = try GGUFFile(file: MappedFile(path: "x.gguf", contents: try GGUFWriter.encode(back, storage: .F32)))
        XCTAssertEqual(try g.tokenizerData(), t)
    }

    func testGemma3Config_WritesQueryPreAttnScalarAsAnInteger() throws {
        var cfg = tinyConfig(.gemma3, tied: true)
        cfg.queryPreAttnScalar = 256
        let json = try JSONDecoder().decode(JSONValue.self, from: Data(cfg.huggingFaceConfigJSON(dtype: .F32).utf8))
        let text = cfg.huggingFaceConfigJSON(dtype: .F32)
        XCTAssertTrue(text.contains("\"query_pre_attn_scalar\":256,") || text.contains("\"query_pre_attn_scalar\": 256,"), text)
        XCTAssertEqual(json["query_pre_attn_scalar"]?.intValue, 256)
    }

    /// Writes the SmolLM2 export for scripts/fixtures/check_hf_export.py when SURGEON_EXPORT_DIR is set.
    func testExportSmolLM2_WhenRequested() throws {
        guard let out = ProcessInfo.processInfo.environment["SURGEON_EXPORT_DIR"] else { throw XCTSkip("set SURGEON_EXPORT_DIR to export") }
        guard FileManager.default.fileExists(atPath: smolLMPath) else { throw XCTSkip("SmolLM2 GGUF not present") }
        let ck = try CheckpointLoader.load(path: smolLMPath)
        let files = try HFDirectoryWriter.write(ck, to: out)
        print("wrote \(files) to \(out)")
        XCTAssertTrue(files.contains("tokenizer.json"))
    }
}
