import Pruning

/// Everything that defines a job and never changes after submission (`request.json`).
public struct JobSpec: Codable, Sendable, Equatable {
    /// The prune as the client sent it (model and texts by name); compared for idempotency.
    public var request: PruneRequest
    /// The same prune with names resolved to server paths: what the runner receives.
    public var resolved: PruneRequest
    /// The token name that owns the job; other owners cannot see it.
    public var owner: String
    /// The client's `Idempotency-Key`, if any.
    public var idempotencyKey: String?
    /// Estimated peak memory, computed before queueing.
    public var memoryEstimateBytes: Int?

    public init(request: PruneRequest, resolved: PruneRequest? = nil, owner: String,
                idempotencyKey: String? = nil, memoryEstimateBytes: Int? = nil) {
        self.request = request; self.resolved = resolved ?? request; self.owner = owner
        self.idempotencyKey = idempotencyKey; self.memoryEstimateBytes = memoryEstimateBytes
    }

    enum CodingKeys: String, CodingKey {
        case request, resolved, owner
        case idempotencyKey = "idempotency_key", memoryEstimateBytes = "memory_estimate_bytes"
    }
}
