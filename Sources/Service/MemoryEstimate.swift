import Pruning

/// A rough peak-memory estimate of a prune, checked against the per-job limit before queueing.
///
/// With a GGUF header (`ModelSummary`): f32 weights twice (original and working copy), K-FAC
/// factors and their inverses for the curvature methods (per layer, every projection's
/// `in² + out²` floats, twice), the activations of one calibration sequence kept for the backward
/// pass (`seqlen × (8 hidden + 3 ffn) × layers` floats; sequences are assumed to be processed one
/// at a time), one sequence of logits and their gradient, plus 256 MiB. Without a header the parameter count is guessed from the file size (GGUF ≈ 4.5
/// bits per weight, other files 16) and weights count three times over.
public struct MemoryEstimate: Codable, Sendable, Equatable {
    public var parameters: Int
    public var weightsBytes: Int
    public var curvatureBytes: Int
    public var activationBytes: Int
    public var overheadBytes: Int
    public var totalBytes: Int

    public init(modelFileBytes: Int, modelName: String, summary: ModelSummary?, request: PruneRequest) {
        let seqlen = max(1, request.seqlen)
        overheadBytes = 256 << 20
        if let s = summary, let layers = s.layers, let h = s.hiddenSize, let f = s.intermediateSize,
           let heads = s.heads, let kv = s.kvHeads, let vocab = s.vocabSize, heads > 0 {
            parameters = s.parameters
            weightsBytes = parameters * 4 * 2
            let kvDim = h / heads * kv
            // (in, out) of q, k, v, o, gate, up, down.
            let mats = [(h, h), (h, kvDim), (h, kvDim), (h, h), (h, f), (h, f), (f, h)]
            let perLayer = mats.reduce(0) { $0 + $1.0 * $1.0 + $1.1 * $1.1 }
            let curvature = [.llmSurgeon, .kobd, .lobd].contains(request.method)
            let hessianOnly = request.method == .sparsegpt
            curvatureBytes = curvature ? perLayer * layers * 4 * 2
                : hessianOnly ? mats.reduce(0) { $0 + $1.0 * $1.0 } * 4 * 2 : 0
            activationBytes = seqlen * (8 * h + 3 * f) * layers * 4 + seqlen * vocab * 4 * 2
        } else {
            let bitsPerWeight = modelName.lowercased().hasSuffix(".gguf") ? 4.5 : 16
            parameters = Int(Double(modelFileBytes) * 8 / bitsPerWeight)
            weightsBytes = parameters * 4 * 3
            curvatureBytes = 0
            activationBytes = max(1, request.samples) * seqlen * (64 << 10)
        }
        totalBytes = weightsBytes + curvatureBytes + activationBytes + overheadBytes
    }

    enum CodingKeys: String, CodingKey {
        case parameters, weightsBytes = "weights_bytes", curvatureBytes = "curvature_bytes"
        case activationBytes = "activation_bytes", overheadBytes = "overhead_bytes", totalBytes = "total_bytes"
    }
}
