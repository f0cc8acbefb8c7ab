import Foundation
import Pruning

/// One line of `surgeon worker`'s stdout, the protocol between a job's worker process and
/// `ProcessPruneRunner`: every line is one JSON object whose `kind` says what it carries.
///
/// ```
/// {"kind":"progress","progress":{"phase":"curvature","shot":2,"shots":2,…}}
/// {"kind":"log","message":"resuming after shot 1 of 2"}
/// {"kind":"succeeded"}                       report.json is in the job directory
/// {"kind":"cancelled","signal":15}           stopped after SIGTERM (exit status 3)
/// {"kind":"failed","message":"eval: …"}      the run threw (exit status 1)
/// ```
public struct WorkerMessage: Codable, Sendable, Equatable {
    /// What a line carries.
    public enum Kind: String, Codable, Sendable {
        /// `progress`: the runner's progress callback.
        case progress
        /// `message`: one of the runner's log lines.
        case log
        /// The run finished and wrote `report.json`; the worker exits with status 0.
        case succeeded
        /// The run stopped because `signal` arrived; the worker exits with `WorkerExitCode.cancelled`.
        case cancelled
        /// `message`: the error the run threw; the worker exits with `WorkerExitCode.failed`.
        case failed
    }

    public var kind: Kind
    public var progress: PruneProgress?
    public var message: String?
    public var signal: Int32?

    public init(kind: Kind, progress: PruneProgress? = nil, message: String? = nil, signal: Int32? = nil) {
        self.kind = kind; self.progress = progress; self.message = message; self.signal = signal
    }

    /// The message as one JSON line, newline included.
    public func line() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        return data
    }

    /// Decodes one line (without its newline); `nil` if it is not a worker message.
    public static func parse(_ line: [UInt8]) -> WorkerMessage? {
        try? JSONDecoder().decode(WorkerMessage.self, from: Data(line))
    }
}

/// Exit statuses of `surgeon worker` (an argument error exits with ArgumentParser's 64).
public enum WorkerExitCode {
    /// The run succeeded.
    public static let succeeded: Int32 = 0
    /// The run threw; the last line is a `failed` message.
    public static let failed: Int32 = 1
    /// SIGTERM (or SIGINT) stopped the run between layers; the last line is a `cancelled` message.
    public static let cancelled: Int32 = 3
}
