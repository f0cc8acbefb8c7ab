import Pruning

/// A rough peak-memory estimate of a prune, checked against the per-job limit before queueing.
/// Honest heuristic until the Checkpoint module reports architectures: parameters are guessed from
/// the file size (GGUF ≈ 4.5 bits per weight, other files 16 bits), weights are held in f32 three
/// times over (weights, updated copy, curvature factors and workspaces), activations cost
/// `samples × seqlen × 64 KiB`, plus a fixed 256 MiB.
public struct MemoryEstimate: Codable, Sendable, Equatable {
    public var parameters: Int
    public var weightsBytes: Int
    public var activationBytes: Int
    public var overheadBytes: Int
    public var totalBytes: Int

    public init(modelFileBytes: Int, modelName: String, request: PruneRequest) {
        let bitsPerWeight = modelName.lowercased().hasSuffix(".gguf") ? 4.5 : 16
        parameters = Int(Double(modelFileBytes) * 8 / bitsPerWeight)
        weightsBytes = parameters * 4 * 3
        activationBytes = max(1, request.samples) * max(1, request.seqlen) * (64 << 10)
        overheadBytes = 256 << 20
        totalBytes = weightsBytes + activationBytes + overheadBytes
    }

    enum CodingKeys: String, CodingKey {
        case parameters, weightsBytes = "weights_bytes", activationBytes = "activation_bytes"
        case overheadBytes = "overhead_bytes", totalBytes = "total_bytes"
    }
}
