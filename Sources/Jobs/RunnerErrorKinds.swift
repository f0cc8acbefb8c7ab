/// A runner error meaning the run was cut short from outside (its worker process was killed by a
/// signal: SIGKILL, the kernel's OOM killer, a crash) rather than failing on its own. `JobManager`
/// retries such a job from its last finished shot, as attempt + 1, up to
/// `JobManager.Options.crashRetries` times (the `crashed` edge of `JobState`), then fails it.
///
/// The Jobs module defines the protocol so that runners in other modules (Service's
/// `ProcessPruneRunner`) can mark their errors without Jobs depending on them.
public protocol RetryableRunnerError: Error {}

/// A runner error with its own stable `JobFailure.code` (instead of `runner_error`), e.g.
/// `worker_crashed` or `worker_memory_limit`.
public protocol CodedRunnerError: Error {
    /// The `code` a failed job reports for this error.
    var failureCode: String { get }
}
