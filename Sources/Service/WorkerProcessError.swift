import Foundation
import Jobs

/// A job's worker process died of a signal the service did not send (SIGKILL from outside or the
/// kernel's OOM killer, SIGSEGV, a Swift trap), or stopped on a SIGTERM from outside the service.
/// Retryable: `JobManager` queues the job again to resume after its last finished shot.
public struct WorkerKilled: RetryableRunnerError, CodedRunnerError, CustomStringConvertible, Sendable, Equatable {
    /// The signal.
    public var signal: Int32
    /// Where the run was, e.g. `during shot 2 phase curvature`.
    public var position: String
    /// `true`: the worker caught the signal and stopped between layers (exit status 3) although
    /// the service had not asked it to; `false`: the signal killed it.
    public var stoppedOnSignal: Bool
    /// The last lines the worker wrote to stderr.
    public var stderrTail: [String]

    public var failureCode: String { "worker_crashed" }

    public var description: String {
        let what = stoppedOnSignal
            ? "worker process stopped by signal \(signal) (\(SignalName.of(signal))) from outside the service"
            : "worker process killed by signal \(signal) (\(SignalName.of(signal)))"
        return what + " " + position + WorkerStderr.suffix(stderrTail)
    }
}

/// A job's worker process went over its memory limit and the service killed it. Not retried: the
/// next attempt would need the same memory.
public struct WorkerMemoryLimitExceeded: CodedRunnerError, CustomStringConvertible, Sendable, Equatable {
    public var limitBytes: Int
    /// The resident set size that was over the limit.
    public var residentBytes: Int
    /// Where the run was, e.g. `during shot 2 phase curvature`.
    public var position: String
    public var stderrTail: [String]

    public var failureCode: String { "worker_memory_limit" }

    public var description: String {
        "worker exceeded its memory limit of \(WorkerStderr.gib(limitBytes)) (RSS \(WorkerStderr.gib(residentBytes))) "
            + position + " and was killed" + WorkerStderr.suffix(stderrTail)
    }
}

/// A job's worker process ended with an error: the message it reported (as the in-process runner
/// would have thrown it), or, when it reported none, how it exited and its stderr.
public struct WorkerFailed: Error, CustomStringConvertible, Sendable, Equatable {
    /// The `failed` line's message, if the worker wrote one.
    public var message: String?
    /// How the process ended, e.g. `exited with status 64`.
    public var termination: String
    public var stderrTail: [String]

    public var description: String {
        message ?? "worker process \(termination) without reporting an error" + WorkerStderr.suffix(stderrTail)
    }
}

/// Formatting shared by the worker errors.
enum WorkerStderr {
    /// `; stderr: line | line` of the last lines (at most 2000 characters), or nothing.
    static func suffix(_ tail: [String]) -> String {
        guard !tail.isEmpty else { return "" }
        var text = tail.joined(separator: " | ")
        if text.count > 2000 { text = "…" + text.suffix(2000) }
        return "; stderr: " + text
    }

    static func gib(_ bytes: Int) -> String { String(format: "%.2f GiB", Double(bytes) / Double(1 << 30)) }
}
