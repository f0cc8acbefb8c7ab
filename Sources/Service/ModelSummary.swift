import Checkpoint
import Foundation

/// What the server learned from a model file's header (GGUF only for now): enough to show the
/// model and to estimate a prune's memory.
public struct ModelSummary: Codable, Sendable, Equatable {
    public var format: String
    public var architecture: String?
    public var parameters: Int
    public var layers: Int?
    public var hiddenSize: Int?
    public var intermediateSize: Int?
    public var heads: Int?
    public var kvHeads: Int?
    public var vocabSize: Int?
    /// Tensor count per storage type, e.g. `["Q4_1": 210, "F32": 61]`.
    public var tensorTypes: [String: Int]

    enum CodingKeys: String, CodingKey {
        case format, architecture, parameters, layers, heads
        case hiddenSize = "hidden_size", intermediateSize = "intermediate_size", kvHeads = "kv_heads"
        case vocabSize = "vocab_size", tensorTypes = "tensor_types"
    }

    /// Reads the header of `path`; `nil` when it is not a GGUF file. Throws when a GGUF header is invalid.
    public static func read(path: String) throws -> ModelSummary? {
        guard let fh = FileHandle(forReadingAtPath: path) else { return nil }
        let magic = (try? fh.read(upToCount: 4)) ?? nil
        try? fh.close()
        guard let magic, magic.count == 4, Array(magic) == Array("GGUF".utf8) else { return nil }
        let gguf = try GGUFFile(path: path)
        var types: [String: Int] = [:]
        for t in gguf.tensors { types[String(describing: t.type), default: 0] += 1 }
        var s = ModelSummary(format: "gguf", architecture: gguf["general.architecture"]?.stringValue,
                             parameters: gguf.tensors.reduce(0) { $0 + $1.count }, tensorTypes: types)
        if let c = try? gguf.modelConfig() {
            s.layers = c.numLayers; s.hiddenSize = c.hiddenSize; s.intermediateSize = c.intermediateSize
            s.heads = c.numHeads; s.kvHeads = c.numKVHeads; s.vocabSize = c.vocabSize
        }
        return s
    }
}
