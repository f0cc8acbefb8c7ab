import Foundation
import Pruning

/// What `JobManager` knows about the job a runner is asked to run, beyond its request.
public struct JobRunContext: Sendable, Equatable {
    /// The job id (log lines are prefixed with it).
    public var jobID: String
    /// 1 for the first run; a resumed or retried run has a higher attempt.
    public var attempt: Int
    /// The peak memory estimated at submission (`JobSpec.memoryEstimateBytes`), if any.
    public var memoryEstimateBytes: Int?

    public init(jobID: String, attempt: Int, memoryEstimateBytes: Int?) {
        self.jobID = jobID; self.attempt = attempt; self.memoryEstimateBytes = memoryEstimateBytes
    }
}

/// A `PruneRunner` that wants the job's context: `JobManager` calls
/// `run(_:context:outputDirectory:progress:isCancelled:)` on such a runner instead of the plain
/// `run`, which stays the `PruneRunner` seam for everything else.
public protocol JobContextPruneRunner: PruneRunner {
    func run(_ request: PruneRequest, context: JobRunContext, outputDirectory: URL,
             progress: @escaping @Sendable (PruneProgress) -> Void,
             isCancelled: @escaping @Sendable () -> Bool) throws -> PruneReport
}
