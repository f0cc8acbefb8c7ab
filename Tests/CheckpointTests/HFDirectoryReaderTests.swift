import Foundation
import XCTest
import Tensor
@testable import Checkpoint

final class HFDirectoryReaderTests: XCTestCase {
    func testLoadLlamaDirectory_ReadsConfigTensorsAndTokenizer() throws {
        let dir = try makeTempDir(self)
        try writeText(tinyLlamaConfigJSON, dir + "/config.json")
        let tensors = tinyLlamaTensors()
        try SafetensorsWriter.write(tensors, to: dir + "/model.safetensors")
        try writeText("{\"model\":{}}", dir + "/tokenizer.json")
        let ck = try CheckpointLoader.load(path: dir)
        XCTAssertEqual(ck.config, ModelConfig(architecture: .llama, vocabSize: 16, hiddenSize: 8, intermediateSize: 12, numLayers: 2,
                                              numHeads: 2, numKVHeads: 1, headDim: 4, maxPositions: 64, normEps: 1e-5,
                                              ropeTheta: 100000, tieWordEmbeddings: true, bosTokenId: 0, eosTokenId: 2))
        XCTAssertEqual(ck.tensors, tensors)
        XCTAssertEqual(ck.storageTypes["model.norm.weight"], "F32")
        guard case .huggingFace(let tj, let tc)? = ck.tokenizer else { return XCTFail("no tokenizer") }
        XCTAssertEqual(tj, Array("{\"model\":{}}".utf8))
        XCTAssertNil(tc)
    }

    func testLoadShardedDirectory_MergesShardsFromIndex() throws {
        let dir = try makeTempDir(self)
        try writeText(tinyLlamaConfigJSON, dir + "/config.json")
        let tensors = tinyLlamaTensors()
        let names = tensors.keys.sorted()
        let a = Dictionary(uniqueKeysWithValues: names.prefix(5).map { ($0, tensors[$0]!) })
        let b = Dictionary(uniqueKeysWithValues: names.dropFirst(5).map { ($0, tensors[$0]!) })
        try SafetensorsWriter.write(a, to: dir + "/model-00001-of-00002.safetensors")
        try SafetensorsWriter.write(b, to: dir + "/model-00002-of-00002.safetensors")
        let map = names.enumerated().map { "\"\($0.element)\":\"model-0000\($0.offset < 5 ? 1 : 2)-of-00002.safetensors\"" }
        try writeText("{\"metadata\":{},\"weight_map\":{\(map.joined(separator: ","))}}", dir + "/model.safetensors.index.json")
        let ck = try CheckpointLoader.load(path: dir)
        XCTAssertEqual(ck.tensors, tensors)
        XCTAssertNil(ck.tokenizer)
    }

    func testHalfAndBFloat16Tensors_ConvertToFloat() throws {
        let dir = try makeTempDir(self)
        let t = ["w": Tensor(shape: [2, 3], data: [0, 1, -2.5, 0.099975586, 65504, -1e-7])]
        for type in [SafetensorsWriter.StorageType.F16, .BF16] {
            try SafetensorsWriter.write(t, to: dir + "/x.safetensors", as: type)
            let f = try SafetensorsFile(path: dir + "/x.safetensors")
            XCTAssertEqual(f.tensors.first?.dtype.rawValue, type.rawValue)
            let back = try f.tensor(f.tensors[0])
            for (x, y) in zip(back.data, t["w"]!.data) { XCTAssertEqual(x, y, accuracy: abs(y) * (type == .F16 ? 1e-3 : 8e-3) + 1e-7) }
        }
    }

    func testQwen2Config_HasAttentionBias() throws {
        let json = try JSONDecoder().decode(JSONValue.self, from: Data("""
        {"model_type":"qwen2","vocab_size":16,"hidden_size":8,"intermediate_size":12,"num_hidden_layers":2,
         "num_attention_heads":2,"num_key_value_heads":1,"rms_norm_eps":1e-6,"rope_theta":1000000.0}
        """.utf8))
        let c = try ModelConfig(huggingFace: json, path: "config.json")
        XCTAssertEqual(c.architecture, .qwen2)
        XCTAssertTrue(c.attentionBias)
        XCTAssertEqual(c.ropeTheta, 1_000_000)
        XCTAssertFalse(c.tieWordEmbeddings)
    }

    func testOPTConfig_ReadsFFNDimAndLayerNormOrder() throws {
        let json = try JSONDecoder().decode(JSONValue.self, from: Data("""
        {"model_type":"opt","vocab_size":50272,"hidden_size":768,"ffn_dim":3072,"num_hidden_layers":12,
         "num_attention_heads":12,"max_position_embeddings":2048,"do_layer_norm_before":false,"word_embed_proj_dim":768,
         "activation_function":"relu","bos_token_id":2,"eos_token_id":2}
        """.utf8))
        let c = try ModelConfig(huggingFace: json, path: "config.json")
        XCTAssertEqual(c.architecture, .opt)
        XCTAssertEqual(c.intermediateSize, 3072)
        XCTAssertEqual(c.headDim, 64)
        XCTAssertFalse(c.doLayerNormBefore)
        XCTAssertTrue(c.tieWordEmbeddings)
        XCTAssertTrue(c.attentionBias)
    }

    func testOPTConfig_WithProjectedEmbeddings_Throws() throws {
        let json = try JSONDecoder().decode(JSONValue.self, from: Data("""
        {"model_type":"opt","vocab_size":50272,"hidden_size":1024,"ffn_dim":4096,"num_hidden_layers":24,
         "num_attention_heads":16,"word_embed_proj_dim":512}
        """.utf8))
        XCTAssertThrowsError(try ModelConfig(huggingFace: json, path: "config.json")) { e in
            guard case CheckpointError.invalidConfig(_, let what) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(what.contains("word_embed_proj_dim"))
        }
    }

    func testUnknownModelType_ThrowsNamingSupportedTypes() throws {
        let json = try JSONDecoder().decode(JSONValue.self, from: Data("{\"model_type\":\"gpt_neox\"}".utf8))
        XCTAssertThrowsError(try ModelConfig(huggingFace: json, path: "x/config.json")) { e in
            XCTAssertEqual(e as? CheckpointError, .unsupportedArchitecture(path: "x/config.json", found: "gpt_neox",
                                                                          supported: ["llama", "mistral", "qwen2", "gemma3_text", "opt"]))
            XCTAssertTrue("\(e)".contains("llama, mistral, qwen2, gemma3_text, opt"))
        }
    }

    func testHeadsNotDividingHidden_Throws() throws {
        let json = try JSONDecoder().decode(JSONValue.self, from: Data("""
        {"model_type":"llama","vocab_size":16,"hidden_size":10,"intermediate_size":12,"num_hidden_layers":2,"num_attention_heads":3}
        """.utf8))
        XCTAssertThrowsError(try ModelConfig(huggingFace: json, path: "config.json")) { e in
            guard case CheckpointError.invalidConfig(_, let what) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(what.contains("does not divide"), what)
        }
    }

    func testMissingSafetensors_ThrowsMissingFile() throws {
        let dir = try makeTempDir(self)
        try writeText(tinyLlamaConfigJSON, dir + "/config.json")
        XCTAssertThrowsError(try CheckpointLoader.load(path: dir)) { e in
            XCTAssertEqual(e as? CheckpointError, .missingFile(path: dir + "/model.safetensors"))
        }
    }

    func testRequireTokenizer_WithoutTokenizer_Throws() throws {
        let dir = try makeTempDir(self)
        try writeText(tinyLlamaConfigJSON, dir + "/config.json")
        try SafetensorsWriter.write(tinyLlamaTensors(), to: dir + "/model.safetensors")
        XCTAssertThrowsError(try CheckpointLoader.load(path: dir, requireTokenizer: true)) { e in
            XCTAssertEqual(e as? CheckpointError, .missingTokenizer(path: dir))
        }
    }

    func testRopeScaling_ThrowsUnsupported() throws {
        let json = try JSONDecoder().decode(JSONValue.self, from: Data("""
        {"model_type":"llama","vocab_size":16,"hidden_size":8,"intermediate_size":12,"num_hidden_layers":2,"num_attention_heads":2,
         "rope_scaling":{"rope_type":"llama3","factor":8.0}}
        """.utf8))
        XCTAssertThrowsError(try ModelConfig(huggingFace: json, path: "config.json")) { e in
            guard case CheckpointError.invalidConfig(_, let what) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(what.contains("llama3"), what)
        }
    }

    func testOPTBaseModelNames_GetModelPrefix() throws {
        let dir = try makeTempDir(self)
        try writeText("""
        {"model_type":"opt","vocab_size":16,"hidden_size":8,"ffn_dim":12,"num_hidden_layers":1,"num_attention_heads":2}
        """, dir + "/config.json")
        let w = randomTensor([16, 8], seed: 3)
        try SafetensorsWriter.write(["decoder.embed_tokens.weight": w], to: dir + "/model.safetensors")
        XCTAssertEqual(try CheckpointLoader.load(path: dir).tensors, ["model.decoder.embed_tokens.weight": w])
    }

    func testCompactConfig_AllowsUnevenKVGroupsButNotMoreKVThanQueryHeads() throws {
        var c = ModelConfig(architecture: .llama, vocabSize: 16, hiddenSize: 8, intermediateSize: 12, numLayers: 2, numHeads: 9,
                            numKVHeads: 3, headDim: 4, maxPositions: 64, normEps: 1e-5, tieWordEmbeddings: true)
        c.headCounts = [7, 0]; c.kvHeadCounts = [3, 0]
        XCTAssertNoThrow(try c.validate(path: "c"))
        c.kvHeadCounts = [3, 1]
        XCTAssertThrowsError(try c.validate(path: "c"))
        c.headCounts = [2, 9]; c.kvHeadCounts = [3, 3]
        XCTAssertThrowsError(try c.validate(path: "c"))
    }
}
