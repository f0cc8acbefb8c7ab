import Foundation
import XCTest
import Tensor
@testable import Checkpoint

/// A fresh temporary directory, removed at the end of the test.
func makeTempDir(_ test: XCTestCase) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

func writeText(_ s: String, _ path: String) throws { try s.write(toFile: path, atomically: true, encoding: .utf8) }

/// A deterministic pseudo-random tensor.
func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    var s = seed &* 6364136223846793005 &+ 1442695040888963407
    let n = shape.reduce(1, *)
    var d = [Float](repeating: 0, count: n)
    for i in 0..<n {
        s = s &* 6364136223846793005 &+ 1442695040888963407
        d[i] = Float(Int64(bitPattern: s >> 11) % 2001 - 1000) / 1000
    }
    return Tensor(shape: shape, data: d)
}

/// Package root (for `models/` and `../shared/data`).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
/// The real model: `models/` in the package root, or `SURGEON_SMOLLM2` when set.
let smolLMPath = ProcessInfo.processInfo.environment["SURGEON_SMOLLM2"]
    ?? packageRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path

/// Tiny Llama tensors with HF names for a config of hidden 8, ffn 12, 2 layers, 2 heads, 1 KV head, vocab 16.
func tinyLlamaTensors(tied: Bool = true, bias: Bool = false) -> [String: Tensor] {
    var t: [String: Tensor] = ["model.embed_tokens.weight": randomTensor([16, 8], seed: 1), "model.norm.weight": randomTensor([8], seed: 2)]
    if !tied { t["lm_head.weight"] = randomTensor([16, 8], seed: 3) }
    for l in 0..<2 {
        let p = "model.layers.\(l)."
        var seed = UInt64(100 * l + 10)
        func r(_ s: [Int]) -> Tensor { seed += 1; return randomTensor(s, seed: seed) }
        t[p + "self_attn.q_proj.weight"] = r([8, 8]); t[p + "self_attn.k_proj.weight"] = r([4, 8])
        t[p + "self_attn.v_proj.weight"] = r([4, 8]); t[p + "self_attn.o_proj.weight"] = r([8, 8])
        if bias {
            t[p + "self_attn.q_proj.bias"] = r([8]); t[p + "self_attn.k_proj.bias"] = r([4]); t[p + "self_attn.v_proj.bias"] = r([4])
        }
        t[p + "mlp.gate_proj.weight"] = r([12, 8]); t[p + "mlp.up_proj.weight"] = r([12, 8]); t[p + "mlp.down_proj.weight"] = r([8, 12])
        t[p + "input_layernorm.weight"] = r([8]); t[p + "post_attention_layernorm.weight"] = r([8])
    }
    return t
}

let tinyLlamaConfigJSON = """
{"model_type":"llama","architectures":["LlamaForCausalLM"],"vocab_size":16,"hidden_size":8,"intermediate_size":12,
 "num_hidden_layers":2,"num_attention_heads":2,"num_key_value_heads":1,"max_position_embeddings":64,
 "rms_norm_eps":1e-5,"rope_theta":100000.0,"tie_word_embeddings":true,"bos_token_id":0,"eos_token_id":[2,0]}
"""
