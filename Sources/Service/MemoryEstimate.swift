import Checkpoint
import Pruning

/// What a submitted job will need in memory, checked against the per-job limit before queueing and summed over
/// running jobs for admission.
///
/// A file whose header names a model gets Pruning's `MemoryPlan` (per phase, in-memory or streamed, under the
/// per-job budget): `totalBytes` is the plan's peak. A file without one (an upload the engine will reject when
/// the job runs) gets a rough guess from its size (GGUF ≈ 4.5 bits per weight, other files 16; weights three
/// times over in fp32), so that validation errors still come from the runner.
public struct MemoryEstimate: Sendable, Equatable {
    public var plan: MemoryPlan?
    public var parameters: Int
    public var totalBytes: Int

    public init(modelPath: String, modelFileBytes: Int, modelName: String, request: PruneRequest, budget: Int) {
        if let header = try? CheckpointLoader.header(path: modelPath) {
            let p = MemoryPlan.estimate(config: header.config, request: request, fileBytes: header.fileBytes, budget: budget,
                                        linearsAreF16: header.linearsAreF16)
            plan = p; parameters = p.parameters; totalBytes = p.peakBytes
        } else {
            let bitsPerWeight = modelName.lowercased().hasSuffix(".gguf") ? 4.5 : 16
            parameters = Int(Double(modelFileBytes) * 8 / bitsPerWeight)
            plan = nil
            totalBytes = parameters * 4 * 3 + max(1, request.samples) * max(1, request.seqlen) * (64 << 10) + MemoryPlan.overheadBytes
        }
    }
}
