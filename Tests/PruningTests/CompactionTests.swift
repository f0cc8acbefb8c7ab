import Checkpoint
import Foundation
import Model
@testable import Pruning
import Tensor
import XCTest

/// A tiny random Llama (C 16, 4 heads / 2 KV heads of 4, FFN 24, 3 layers, vocab 40) with coupled
/// structures zeroed the way `--structure coupled` leaves them.
enum TinyCompact {
    static let c = 16, h = 4, kv = 2, d = 4, f = 24, layers = 3, vocab = 40

    /// `gemma`: the same shapes as Gemma 3 (post-norms, q/k norms, GeGLU, window 4 on layers 0 and 2).
    static func model(seed: UInt64 = 7, gemma: Bool = false) throws -> TransformerModel {
        var rng = seed
        func rnd(_ n: Int, scale: Float = 0.3) -> [Float] {
            (0..<n).map { _ in
                rng = rng &* 6364136223846793005 &+ 1442695040888963407
                return (Float(rng >> 40) / Float(1 << 24) - 0.5) * 2 * scale
            }
        }
        var cfg = ModelConfig(architecture: gemma ? .gemma3 : .llama, vocabSize: vocab, hiddenSize: c, intermediateSize: f, numLayers: layers,
                              numHeads: h, numKVHeads: kv, headDim: d, maxPositions: 64, normEps: 1e-5, ropeTheta: 10000,
                              tieWordEmbeddings: true)
        if gemma { cfg.slidingWindow = 4; cfg.slidingWindowPattern = 2; cfg.ropeLocalTheta = 100 }
        var t: [String: Tensor] = ["model.embed_tokens.weight": Tensor(shape: [vocab, c], data: rnd(vocab * c, scale: 1)),
                                   "model.norm.weight": Tensor(shape: [c], data: rnd(c).map { 1 + $0 })]
        for l in 0..<layers {
            let p = "model.layers.\(l)."
            t[p + "input_layernorm.weight"] = Tensor(shape: [c], data: rnd(c).map { 1 + $0 })
            t[p + "post_attention_layernorm.weight"] = Tensor(shape: [c], data: rnd(c).map { 1 + $0 })
            if gemma {
                t[p + "pre_feedforward_layernorm.weight"] = Tensor(shape: [c], data: rnd(c))
                t[p + "post_feedforward_layernorm.weight"] = Tensor(shape: [c], data: rnd(c))
                t[p + "self_attn.q_norm.weight"] = Tensor(shape: [d], data: rnd(d))
                t[p + "self_attn.k_norm.weight"] = Tensor(shape: [d], data: rnd(d))
            }
            for (n, r, k) in [("self_attn.q_proj", h * d, c), ("self_attn.k_proj", kv * d, c), ("self_attn.v_proj", kv * d, c),
                              ("self_attn.o_proj", c, h * d), ("mlp.gate_proj", f, c), ("mlp.up_proj", f, c), ("mlp.down_proj", c, f)] {
                t[p + n + ".weight"] = Tensor(shape: [r, k], data: rnd(r * k))
            }
        }
        return try TransformerModel(checkpoint: LoadedCheckpoint(config: cfg, tensors: t, tokenizer: nil, source: "tiny"))
    }

    /// Zeroes neurons and heads as coupled structures (all member rows/columns).
    static func prune(_ m: inout TransformerModel, neurons: [Int: [Int]], heads: [Int: [Int]]) {
        for (l, ns) in neurons {
            for i in ns {
                for j in 0..<c { m.blocks[l].linears[4].weight[i * c + j] = 0; m.blocks[l].linears[5].weight[i * c + j] = 0 }
                for r in 0..<c { m.blocks[l].linears[6].weight[r * f + i] = 0 }
            }
        }
        for (l, hs) in heads {
            for hh in hs {
                for row in (hh * d)..<((hh + 1) * d) { for j in 0..<c { m.blocks[l].linears[0].weight[row * c + j] = 0 } }
                for r in 0..<c { for col in (hh * d)..<((hh + 1) * d) { m.blocks[l].linears[3].weight[r * h * d + col] = 0 } }
            }
            for g in 0..<kv where (0..<h).filter({ $0 / (h / kv) == g }).allSatisfy(hs.contains) {
                for row in (g * d)..<((g + 1) * d) {
                    for j in 0..<c { m.blocks[l].linears[1].weight[row * c + j] = 0; m.blocks[l].linears[2].weight[row * c + j] = 0 }
                }
            }
        }
    }

    /// Layer 0: 3 neurons and head 1 (uneven groups 1 + 2); layer 1: KV group 0 and head 2 (1 head left);
    /// layer 2: every neuron and every head (the whole block is skipped).
    static func pruned(gemma: Bool = false) throws -> TransformerModel {
        var m = try model(gemma: gemma)
        prune(&m, neurons: [0: [1, 5, 7], 1: [0, 2], 2: Array(0..<f)], heads: [0: [1], 1: [0, 1, 2], 2: [0, 1, 2, 3]])
        return m
    }

    static let tokens = [3, 17, 5, 39, 0, 22, 8, 8, 31, 12, 1, 27]

    static func logits(_ m: TransformerModel) throws -> [Float] {
        var out = [Float](repeating: 0, count: tokens.count * vocab)
        _ = try m.forward(tokens: tokens, batch: 1) { row0, rows, p in
            for i in 0..<(rows * vocab) { out[row0 * vocab + i] = p[i] }
        }
        return out
    }

    static func maxDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }
}

final class CompactionTests: XCTestCase {
    func testCompactModelGivesTheMaskedModelsLogits() throws {
        let masked = try TinyCompact.pruned()
        let (compact, plan) = try Compaction.compact(masked)
        XCTAssertEqual(plan.layers.map(\.neurons.count), [21, 22, 0])
        XCTAssertEqual(plan.layers.map(\.heads), [[0, 2, 3], [3], []])
        XCTAssertEqual(plan.layers.map(\.kvHeads), [[0, 1], [1], []])
        XCTAssertEqual(compact.blocks.map(\.kvHeadOf), [[0, 1, 1], [0], []])
        let diff = TinyCompact.maxDiff(try TinyCompact.logits(masked), try TinyCompact.logits(compact))
        print("compact vs masked logits: max |diff| = \(diff)")
        XCTAssertLessThan(diff, 1e-4)
        XCTAssertLessThan(compact.prunableParameterCount, masked.prunableParameterCount)
    }

    /// Gemma's extra norms and windows survive compaction: same logits as the masked model.
    func testCompactGemmaModelGivesTheMaskedModelsLogits() throws {
        let masked = try TinyCompact.pruned(gemma: true)
        let (compact, plan) = try Compaction.compact(masked)
        XCTAssertEqual(plan.layers.map(\.heads), [[0, 2, 3], [3], []])
        XCTAssertEqual(compact.blocks.map(\.window), [4, nil, 4])
        XCTAssertEqual(compact.blocks.map { $0.postFFNNorm != nil && $0.qNorm != nil }, [true, true, true])
        let diff = TinyCompact.maxDiff(try TinyCompact.logits(masked), try TinyCompact.logits(compact))
        print("gemma compact vs masked logits: max |diff| = \(diff)")
        XCTAssertLessThan(diff, 1e-4)
        // the Hugging Face tensors (norm gains back to w) read back as the same model
        let back = try TransformerModel(checkpoint: masked.checkpoint(tokenizer: nil, source: "test"))
        XCTAssertLessThan(TinyCompact.maxDiff(try TinyCompact.logits(back), try TinyCompact.logits(masked)), 1e-6)
    }

    func testContiguousGroupsDuplicatesKVHeadsOnlyWhereGroupsDiffer() throws {
        let (compact, _) = try Compaction.compact(try TinyCompact.pruned())
        let (laid, cost) = Compaction.contiguousGroups(compact, ffnMultiple: 8)
        XCTAssertEqual(laid.blocks.map(\.kvHeads), [3, 1, 0])  // layer 0: groups of 1 and 2 → 3 groups of 1
        XCTAssertEqual(cost.duplicatedKVHeads, 1)
        XCTAssertEqual(cost.paddedNeurons, 3 + 2 + 8)  // 21 → 24, 22 → 24, 0 → 8
        XCTAssertEqual(cost.extraParameters, 2 * TinyCompact.d * TinyCompact.c + 3 * 13 * TinyCompact.c)
        for b in laid.blocks where b.heads > 0 { XCTAssertTrue(Compaction.isContiguousEqual(b.kvHeadOf, kvHeads: b.kvHeads)) }
        let diff = TinyCompact.maxDiff(try TinyCompact.logits(compact), try TinyCompact.logits(laid))
        print("contiguous layout vs compact logits: max |diff| = \(diff)")
        XCTAssertLessThan(diff, 1e-4)
    }

    func testCompactGGUFRoundTripsThroughSurgeonsReader() throws {
        let masked = try TinyCompact.pruned()
        let (compact, _) = try Compaction.compact(masked)
        let (laid, _) = Compaction.contiguousGroups(compact, ffnMultiple: 8)
        let path = NSTemporaryDirectory() + "compact-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try GGUFWriter.write(laid.checkpoint(tokenizer: nil, source: "tiny"), to: path, storage: .F32)
        let file = try GGUFFile(path: path)
        XCTAssertEqual(file["general.architecture"]?.stringValue, "deci")
        XCTAssertEqual(file["deci.attention.head_count"]?.arrayValue?.compactMap(\.intValue), [3, 1, 0])
        XCTAssertEqual(file["deci.attention.head_count_kv"]?.arrayValue?.compactMap(\.intValue), [3, 1, 0])
        XCTAssertEqual(file["deci.feed_forward_length"]?.arrayValue?.compactMap(\.intValue), [24, 24, 8])
        XCTAssertNil(file.info("blk.2.attn_q.weight"), "a layer without heads has no attention tensors")
        XCTAssertNil(file.info("blk.2.attn_norm.weight"))
        let back = try TransformerModel(checkpoint: file.load())
        XCTAssertEqual(back.blocks.map(\.heads), [3, 1, 0])
        let diff = TinyCompact.maxDiff(try TinyCompact.logits(masked), try TinyCompact.logits(back))
        print("GGUF round trip vs masked logits: max |diff| = \(diff)")
        XCTAssertLessThan(diff, 1e-4)
    }

    func testUniformConfigIsStandardAndNonUniformFailsWithAlternatives() throws {
        var m = try TinyCompact.model()
        let removeGroup0 = [0, 1]
        TinyCompact.prune(&m, neurons: [0: [0, 1, 2, 3, 4, 5, 6, 7], 1: [8, 9, 10, 11, 12, 13, 14, 15], 2: [16, 17, 18, 19, 20, 21, 22, 23]],
                          heads: [0: removeGroup0, 1: [2, 3], 2: removeGroup0])
        let (compact, _) = try Compaction.compact(m)
        let (laid, cost) = Compaction.contiguousGroups(compact)
        XCTAssertEqual(cost.duplicatedKVHeads, 0)
        let ck = try Compaction.checkpoint(laid, tokenizer: nil, source: "tiny", uniform: true)
        XCTAssertEqual(ck.config.intermediateSize, 16)
        XCTAssertEqual(ck.config.numHeads, 2)
        XCTAssertEqual(ck.config.numKVHeads, 1)
        XCTAssertNil(ck.config.ffnWidths)
        let json = ck.config.huggingFaceConfigJSON()
        XCTAssertTrue(json.contains("\"intermediate_size\": 16") && json.contains("\"num_attention_heads\": 2"))
        XCTAssertFalse(json.contains("surgeon_"))
        XCTAssertEqual(ck.tensors["model.layers.1.mlp.up_proj.weight"]?.shape, [16, TinyCompact.c])
        let back = try TransformerModel(checkpoint: ck)
        XCTAssertLessThan(TinyCompact.maxDiff(try TinyCompact.logits(m), try TinyCompact.logits(back)), 1e-4)

        let (uneven, _) = try Compaction.compact(try TinyCompact.pruned())
        XCTAssertThrowsError(try Compaction.checkpoint(Compaction.contiguousGroups(uneven).model, tokenizer: nil, source: "t", uniform: true)) { e in
            XCTAssertTrue("\(e)".contains("--format gguf --compact"), "\(e)")
        }
    }

    /// `bias_compensation` leaves o_proj and down_proj biases: compaction keeps them (layer 2, whose every head
    /// and neuron is gone, keeps one of each to add them), and the compact GGUF and the uniform Hugging Face
    /// directory read back as the masked model (Llama's `attention_bias`/`mlp_bias` with zero q/k/v/gate/up biases).
    func testCompensatingBiases_SurviveCompactionAndBothExports() throws {
        func withBiases(_ m: inout TransformerModel) {
            for l in m.blocks.indices {
                for i in [3, 6] { m.blocks[l].linears[i].bias = (0..<TinyCompact.c).map { Float(($0 + 3 * l + i) % 7) * 0.05 - 0.15 } }
            }
        }
        var masked = try TinyCompact.pruned()
        withBiases(&masked)
        let (compact, plan) = try Compaction.compact(masked)
        XCTAssertEqual(plan.layers.map(\.heads), [[0, 2, 3], [3], [0]])
        XCTAssertEqual(plan.layers[2].neurons, [0])
        let reference = try TinyCompact.logits(masked)
        XCTAssertLessThan(TinyCompact.maxDiff(reference, try TinyCompact.logits(compact)), 1e-4)
        let (laid, _) = Compaction.contiguousGroups(compact, ffnMultiple: 8)
        let path = NSTemporaryDirectory() + "compact-bias-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try GGUFWriter.write(laid.checkpoint(tokenizer: nil, source: "tiny"), to: path, storage: .F32)
        let file = try GGUFFile(path: path)
        XCTAssertNotNil(file.info("blk.2.ffn_down.bias")); XCTAssertNotNil(file.info("blk.2.attn_output.bias"))
        let back = try TransformerModel(checkpoint: file.load())
        let ggufDiff = TinyCompact.maxDiff(reference, try TinyCompact.logits(back))
        XCTAssertLessThan(ggufDiff, 1e-4)

        var even = try TinyCompact.model()
        TinyCompact.prune(&even, neurons: [0: Array(0..<8), 1: Array(8..<16), 2: Array(16..<24)], heads: [0: [0, 1], 1: [2, 3], 2: [0, 1]])
        withBiases(&even)
        let (evenCompact, _) = try Compaction.compact(even)
        let ck = try Compaction.checkpoint(Compaction.contiguousGroups(evenCompact).model, tokenizer: nil, source: "tiny", uniform: true)
        XCTAssertTrue(ck.config.attentionBias && ck.config.mlpBias)
        XCTAssertEqual(ck.tensors["model.layers.0.self_attn.q_proj.bias"]?.data.allSatisfy { $0 == 0 }, true)
        XCTAssertEqual(ck.tensors["model.layers.0.mlp.up_proj.bias"]?.data.allSatisfy { $0 == 0 }, true)
        let dir = NSTemporaryDirectory() + "compact-bias-hf-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try HFDirectoryWriter.write(ck, to: dir)
        let json = try String(contentsOfFile: dir + "/config.json", encoding: .utf8)
        XCTAssertTrue(json.contains("\"attention_bias\": true") && json.contains("\"mlp_bias\": true"), json)
        let hf = try TransformerModel(checkpoint: try CheckpointLoader.load(path: dir))
        let hfDiff = TinyCompact.maxDiff(try TinyCompact.logits(even), try TinyCompact.logits(hf))
        print("compensating biases: compact GGUF vs masked \(ggufDiff), uniform HF vs masked \(hfDiff)")
        XCTAssertLessThan(hfDiff, 1e-4)
    }

    /// llama.cpp's gemma3 graph has one FFN width for every layer: a compact Gemma GGUF with per-layer widths is
    /// refused before writing (Llama-family models go to `deci`, which reads per-layer widths).
    func testCompactGemmaGGUFWithPerLayerWidths_IsRefused_LlamaIsNot() throws {
        let (gemma, _) = try Compaction.compact(try TinyCompact.pruned(gemma: true))
        XCTAssertThrowsError(try Compaction.checkGGUFWidths(gemma)) { e in
            XCTAssertTrue("\(e)".contains("llama.cpp's gemma3 architecture gives every layer one FFN width") && "\(e)".contains("--uniform"), "\(e)")
        }
        let (llama, _) = try Compaction.compact(try TinyCompact.pruned())
        XCTAssertNoThrow(try Compaction.checkGGUFWidths(llama))
        XCTAssertNoThrow(try Compaction.checkGGUFWidths(try TinyCompact.model(gemma: true)))
    }

    func testUnstructuredZerosCannotBeCompacted() throws {
        var m = try TinyCompact.model()
        for l in 0..<TinyCompact.layers {
            for i in m.blocks[l].linears.indices {
                for j in stride(from: 0, to: m.blocks[l].linears[i].weight.count, by: 7) { m.blocks[l].linears[i].weight[j] = 0 }
            }
        }
        XCTAssertThrowsError(try Compaction.plan(m)) { e in
            XCTAssertTrue("\(e)".contains("not a coupled structured result"), "\(e)")
        }
    }
}
