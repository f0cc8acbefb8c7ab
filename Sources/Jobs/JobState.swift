/// The job lifecycle as a pure value: `handle(_:)` takes an event, moves the state and returns the
/// action the I/O shell (`JobManager`) must carry out. Illegal edges throw and leave the state alone.
/// Every edge is drawn in `docs/state_machine.md` and tested in `JobStateTests`.
public struct JobState: Codable, Sendable, Equatable {
    public private(set) var status: JobStatus
    /// 1 for the first run; a restart while running starts attempt + 1.
    public private(set) var attempt: Int
    /// Shots finished so far; a resumed attempt starts after the last of them.
    public private(set) var finishedShots: Int
    /// Attempts that ended because the runner's worker process was killed (`crashed`); each one
    /// used up one of the service's crash retries.
    public private(set) var crashes: Int

    /// Something that happens to a job.
    public enum Event: Equatable, Sendable {
        /// A worker takes the job from the queue.
        case start
        /// The runner finished and checkpointed shot `n` (1-based).
        case shotFinished(Int)
        /// A client asked to cancel.
        case cancel
        /// The runner returned a report.
        case succeed
        /// The runner threw an error other than a cancellation.
        case fail
        /// The runner stopped because it saw the cancellation flag.
        case runnerStopped
        /// The service started again and found the job in the store.
        case restart
        /// The runner's worker process was killed by a signal (a `RetryableRunnerError`): retried
        /// from the last finished shot while fewer than `maxRetries` crashes were retried before.
        case crashed(maxRetries: Int)
    }

    /// What the shell must do after an edge.
    public enum Action: Equatable, Sendable {
        /// Call the runner; it resumes after shot `resumeAfterShot` (0: from scratch).
        case run(resumeAfterShot: Int)
        /// Raise the cancellation flag the running runner polls.
        case signalCancel
        /// Take the job out of the queue; it is now terminal.
        case dequeue
        /// Put the job (back) into the queue.
        case enqueue
        /// The job is terminal: stamp the finish time and close its event stream.
        case finish
        /// Record the change; nothing else to do.
        case none
    }

    public init(status: JobStatus = .queued, attempt: Int = 1, finishedShots: Int = 0, crashes: Int = 0) {
        self.status = status; self.attempt = attempt; self.finishedShots = finishedShots; self.crashes = crashes
    }

    enum CodingKeys: String, CodingKey { case status, attempt, finishedShots, crashes }

    /// Decodes `state.json`; files written before crash retries existed have no `crashes` (0).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        status = try c.decode(JobStatus.self, forKey: .status)
        attempt = try c.decode(Int.self, forKey: .attempt)
        finishedShots = try c.decode(Int.self, forKey: .finishedShots)
        crashes = try c.decodeIfPresent(Int.self, forKey: .crashes) ?? 0
    }

    /// Applies `event`, returning the action to execute, or throws `JobTransitionError` for an
    /// edge the lifecycle does not have (the state is unchanged then).
    public mutating func handle(_ event: Event) throws(JobTransitionError) -> Action {
        switch (status, event) {
        case (.queued, .start):
            status = .running
            return .run(resumeAfterShot: finishedShots)
        case (.queued, .cancel):
            status = .cancelled
            return .dequeue
        case (.queued, .restart):
            return .enqueue

        case (.running, .shotFinished(let n)), (.cancelling, .shotFinished(let n)):
            guard n == finishedShots + 1 else { throw JobTransitionError(from: status, event: event) }
            finishedShots = n
            return .none
        case (.running, .cancel):
            status = .cancelling
            return .signalCancel
        case (.running, .succeed), (.cancelling, .succeed):
            status = .succeeded
            return .finish
        case (.running, .fail), (.cancelling, .fail):
            status = .failed
            return .finish
        case (.running, .restart):
            status = .queued
            attempt += 1
            return .enqueue
        case (.running, .crashed(let maxRetries)):
            guard crashes < maxRetries else {
                status = .failed
                return .finish
            }
            status = .queued
            attempt += 1
            crashes += 1
            return .enqueue

        case (.cancelling, .cancel):
            return .none
        case (.cancelling, .runnerStopped), (.cancelling, .restart), (.cancelling, .crashed):
            status = .cancelled
            return .finish

        default:
            throw JobTransitionError(from: status, event: event)
        }
    }
}

/// An event the lifecycle has no edge for, e.g. cancelling a finished job.
public struct JobTransitionError: Error, Equatable, Sendable, CustomStringConvertible {
    public var from: JobStatus
    public var event: JobState.Event
    public var description: String { "a \(from.rawValue) job cannot take the event \(event)" }
}
