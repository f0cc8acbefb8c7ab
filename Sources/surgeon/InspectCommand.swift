import ArgumentParser
import Checkpoint
import Foundation

/// `surgeon inspect`: architecture, parameter counts by kind, tensor table and dtypes.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a model: architecture, parameters, tensors.")

    @Option(name: .long, help: "GGUF file or Hugging Face directory.") var model: String
    @Flag(name: .long, help: "Print JSON instead of text.") var json = false
    @Flag(name: .long, help: "Also list every tensor.") var tensors = false

    func run() throws {
        let checkpoint = try CheckpointLoader.load(path: model)
        let summary = CheckpointSummary(checkpoint)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(summary), as: UTF8.self))
            return
        }
        let c = checkpoint.config
        print("model:        \(model)")
        print("architecture: \(c.architecture.rawValue)  layers \(c.numLayers)  hidden \(c.hiddenSize)  ffn \(c.intermediateSize)")
        print("attention:    \(c.numHeads) heads, \(c.numKVHeads) KV heads, head dim \(c.headDim), rope θ \(c.ropeTheta)")
        print("vocabulary:   \(c.vocabSize)  tied embeddings: \(c.tieWordEmbeddings)  max positions \(c.maxPositions)")
        print("parameters:   \(summary.parameters) total, \(summary.prunableParameters) in prunable decoder Linears")
        for (kind, n) in summary.parametersByKind.sorted(by: { $0.key < $1.key }) {
            print("  \(kind.padding(toLength: 14, withPad: " ", startingAt: 0)) \(n)")
        }
        print("storage:      " + summary.storageTypes.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
        if tensors {
            for name in checkpoint.tensors.keys.sorted() {
                let t = checkpoint.tensors[name]!
                print("  \(name)  \(t.shape)  \(checkpoint.storageTypes[name] ?? "F32")")
            }
        }
    }
}

/// What `inspect --json` prints.
struct CheckpointSummary: Codable {
    var architecture: String
    var parameters: Int
    var prunableParameters: Int
    var parametersByKind: [String: Int]
    /// Storage type → number of tensors.
    var storageTypes: [String: Int]
    var config: ModelConfig

    init(_ checkpoint: LoadedCheckpoint) {
        architecture = checkpoint.config.architecture.rawValue
        config = checkpoint.config
        var byKind: [String: Int] = [:]
        var total = 0, prunable = 0
        for (name, t) in checkpoint.tensors {
            let kind = Self.kind(of: name)
            byKind[kind, default: 0] += t.count
            total += t.count
            if kind == "attention" || kind == "ffn" { prunable += t.count }
        }
        parameters = total
        prunableParameters = prunable
        parametersByKind = byKind
        var types: [String: Int] = [:]
        for name in checkpoint.tensors.keys { types[checkpoint.storageTypes[name] ?? "F32", default: 0] += 1 }
        storageTypes = types
    }

    static func kind(of name: String) -> String {
        if name.contains("embed_tokens") { return "embedding" }
        if name.contains("embed_positions") { return "positions" }
        if name.hasPrefix("lm_head") { return "lm_head" }
        if name.contains("norm") { return "norm" }
        if name.contains("self_attn.") { return "attention" }
        if name.contains("mlp.") || name.contains(".fc1.") || name.contains(".fc2.") { return "ffn" }
        return "other"
    }
}
