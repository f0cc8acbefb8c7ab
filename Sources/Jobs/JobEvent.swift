import Foundation
import Pruning

/// One line of a job's append-only `events.jsonl`, numbered from 1.
public struct JobEvent: Codable, Sendable, Equatable {
    /// What kind of event this is.
    public enum Kind: String, Codable, Sendable {
        /// The job changed status (`status` is set).
        case status
        /// The runner reported progress (`progress` is set).
        case progress
        /// A shot finished and its checkpoint was written (`shot` is set).
        case checkpoint
    }

    public var sequence: Int
    public var time: Date
    public var kind: Kind
    public var status: JobStatus?
    public var attempt: Int?
    public var progress: PruneProgress?
    public var shot: Int?
    public var message: String

    public init(sequence: Int = 0, time: Date, kind: Kind, status: JobStatus? = nil, attempt: Int? = nil,
                progress: PruneProgress? = nil, shot: Int? = nil, message: String = "") {
        self.sequence = sequence; self.time = time; self.kind = kind; self.status = status
        self.attempt = attempt; self.progress = progress; self.shot = shot; self.message = message
    }

    /// `true` for the status event that makes the job terminal: the last event of the job.
    public var isTerminal: Bool { kind == .status && (status?.isTerminal ?? false) }
}
