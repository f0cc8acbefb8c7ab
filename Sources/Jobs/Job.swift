import Foundation
import Pruning

/// One job as stored in `state.json`: its spec, lifecycle state, last progress, result and timestamps.
public struct Job: Codable, Sendable, Equatable {
    public var id: String
    public var spec: JobSpec
    public var state: JobState
    /// The last progress the runner reported.
    public var progress: PruneProgress?
    /// The report of a succeeded job.
    public var result: PruneReport?
    /// Why a job failed.
    public var error: JobFailure?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    public var updatedAt: Date

    public init(id: String, spec: JobSpec, createdAt: Date) {
        self.id = id; self.spec = spec; self.state = JobState(); self.createdAt = createdAt
        self.updatedAt = createdAt
    }

    /// Shortcut for `state.status`.
    public var status: JobStatus { state.status }

    enum CodingKeys: String, CodingKey {
        case id, spec, state, progress, result, error
        case createdAt = "created_at", startedAt = "started_at", finishedAt = "finished_at", updatedAt = "updated_at"
    }
}

/// The error of a failed job: a stable code, a message and the phase it failed in.
public struct JobFailure: Codable, Sendable, Equatable {
    public var code: String
    public var message: String
    public var phase: String?
    public init(code: String, message: String, phase: String?) {
        self.code = code; self.message = message; self.phase = phase
    }
}
