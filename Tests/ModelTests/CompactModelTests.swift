import XCTest
import Checkpoint
import Tensor
@testable import Model

/// Per-layer widths: a block with 0 heads or 0 FFN width skips that sub-block.
final class CompactModelTests: XCTestCase {
    func testBlocksWithoutHeadsOrFFN_EqualDenseWithThoseOutputsZeroed() throws {
        let ck = try CheckpointLoader.load(path: Fixtures.url("tiny-llama").path)
        // Dense reference: layer 1 attention and layer 0 FFN contribute nothing.
        var dense = ck
        dense.tensors["model.layers.1.self_attn.o_proj.weight"] = Tensor(shape: [64, 64])
        dense.tensors["model.layers.0.mlp.down_proj.weight"] = Tensor(shape: [64, 96])
        // Compact: those sub-blocks removed, and layer 0 FFN narrowed... to nothing; layer 1 keeps 96.
        var compact = ck
        compact.config.headCounts = [4, 0]
        compact.config.kvHeadCounts = [2, 0]
        compact.config.ffnWidths = [0, 96]
        for n in ["q_proj", "k_proj", "v_proj"] { compact.tensors["model.layers.1.self_attn.\(n).weight"] = Tensor(shape: [0, 64]) }
        compact.tensors["model.layers.1.self_attn.o_proj.weight"] = Tensor(shape: [64, 0])
        for n in ["gate_proj", "up_proj"] { compact.tensors["model.layers.0.mlp.\(n).weight"] = Tensor(shape: [0, 64]) }
        compact.tensors["model.layers.0.mlp.down_proj.weight"] = Tensor(shape: [64, 0])
        let a = try TransformerModel(checkpoint: dense), b = try TransformerModel(checkpoint: compact)
        let seq = try Fixtures.reference("tiny-llama").sequences[0]
        let d = maxAbsDiff(try a.forward(tokens: seq).targetLogProbs, try b.forward(tokens: seq).targetLogProbs)
        print("compact vs zeroed dense max abs diff \(d)")
        XCTAssertLessThan(d, 1e-5)
        var visited: [LinearID] = []
        let la = try a.gradients(tokens: seq) { _, _, _ in }
        let lb = try b.gradients(tokens: seq) { id, _, _ in visited.append(id) }
        XCTAssertEqual(la, lb, accuracy: 1e-5)
        XCTAssertEqual(Set(visited).count, 7, "layer 0 attention (4) + layer 1 FFN (3)")
    }

    func testMissingTensor_IsANamedError() throws {
        var ck = try CheckpointLoader.load(path: Fixtures.url("tiny-llama").path)
        ck.tensors["model.layers.1.mlp.up_proj.weight"] = nil
        XCTAssertThrowsError(try TransformerModel(checkpoint: ck)) { e in
            XCTAssertEqual(e as? ModelError, .missingTensor("model.layers.1.mlp.up_proj.weight"))
        }
        ck = try CheckpointLoader.load(path: Fixtures.url("tiny-llama").path)
        ck.tensors["model.norm.weight"] = Tensor(shape: [3])
        XCTAssertThrowsError(try TransformerModel(checkpoint: ck)) { e in
            XCTAssertEqual(e as? ModelError, .badShape(name: "model.norm.weight", expected: [64], got: [3]))
        }
    }
}

final class ExportTests: XCTestCase {
    func testExportedTensors_RebuildTheSameModel() throws {
        for name in ["tiny-llama", "tiny-llama-tied", "tiny-opt", "tiny-gemma3"] {
            let ck = try CheckpointLoader.load(path: Fixtures.url(name).path)
            let model = try TransformerModel(checkpoint: ck)
            let back = model.checkpoint(tokenizer: nil, source: "test")
            XCTAssertEqual(Set(back.tensors.keys), Set(ck.tensors.keys), name)
            for (k, v) in ck.tensors { XCTAssertEqual(back.tensors[k], v, "\(name) \(k)") }
            XCTAssertNil(back.config.ffnWidths)
        }
    }
}
