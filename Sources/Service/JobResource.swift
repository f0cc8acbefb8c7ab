import Foundation
import Jobs
import Pruning

/// A job as clients see it (`GET /v1/jobs/{id}`); names, not server paths.
struct JobResource: Encodable {
    struct Progress: Encodable {
        var phase: String
        var shot: Int
        var shots: Int
        var layer: Int?
        var layers: Int?
        var fraction: Double
        var etaSeconds: Double?
        var message: String
        enum CodingKeys: String, CodingKey { case phase, shot, shots, layer, layers, fraction, message, etaSeconds = "eta_seconds" }
    }

    var object = "job"
    var id: String
    var status: JobStatus
    var done: Bool
    var attempt: Int
    var finishedShots: Int
    var request: PruneRequest
    var progress: Progress?
    var result: PruneReport?
    var error: JobFailure?
    var memoryEstimateBytes: Int?
    var queuePosition: Int?
    var createdAt: Date
    var startedAt: Date?
    var finishedAt: Date?
    var updatedAt: Date

    init(_ job: Job, queuePosition: Int?) {
        id = job.id; status = job.status; done = job.status.isTerminal; attempt = job.state.attempt
        finishedShots = job.state.finishedShots; request = job.spec.request
        progress = job.progress.map {
            Progress(phase: $0.phase, shot: $0.shot, shots: $0.shots, layer: $0.layer, layers: $0.layers,
                     fraction: $0.fraction, etaSeconds: $0.etaSeconds, message: $0.message)
        }
        if var r = job.result { r.request = job.spec.request; result = r }
        error = job.error; memoryEstimateBytes = job.spec.memoryEstimateBytes; self.queuePosition = queuePosition
        createdAt = job.createdAt; startedAt = job.startedAt; finishedAt = job.finishedAt; updatedAt = job.updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case object, id, status, done, attempt, request, progress, result, error
        case finishedShots = "finished_shots", memoryEstimateBytes = "memory_estimate_bytes", queuePosition = "queue_position"
        case createdAt = "created_at", startedAt = "started_at", finishedAt = "finished_at", updatedAt = "updated_at"
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(object, forKey: .object); try c.encode(id, forKey: .id); try c.encode(status, forKey: .status)
        try c.encode(done, forKey: .done); try c.encode(attempt, forKey: .attempt); try c.encode(finishedShots, forKey: .finishedShots)
        try c.encode(request, forKey: .request); try c.encode(progress, forKey: .progress); try c.encode(result, forKey: .result)
        try c.encode(error, forKey: .error); try c.encode(memoryEstimateBytes, forKey: .memoryEstimateBytes)
        try c.encode(queuePosition, forKey: .queuePosition); try c.encode(createdAt, forKey: .createdAt)
        try c.encode(startedAt, forKey: .startedAt); try c.encode(finishedAt, forKey: .finishedAt); try c.encode(updatedAt, forKey: .updatedAt)
    }
}
