import XCTest
import Pruning
@testable import Jobs

/// A worker killed mid-run: the manager's `crashed` edge, retries and the failure it ends with.
final class JobManagerRetryTests: XCTestCase {
    /// What a killed worker process looks like to the manager.
    struct TestKill: RetryableRunnerError, CodedRunnerError, CustomStringConvertible {
        var failureCode: String { "test_killed" }
        var description: String { "test worker killed during shot 2" }
    }

    /// Fails its first `kills` runs in shot 2's curvature with `TestKill` (shot 1's checkpoint is on disk), then
    /// runs like `SimulatedPruneRunner`; records the shots whose layers it ran.
    final class KillingRunner: PruneRunner, @unchecked Sendable {
        let kills: Int
        let shots = Counter()
        private let lock = NSLock()
        private var runs = 0
        private(set) var contexts: [Int] = []
        init(kills: Int) { self.kills = kills }

        func run(_ request: PruneRequest, outputDirectory: URL, progress: @escaping @Sendable (PruneProgress) -> Void,
                 isCancelled: @escaping @Sendable () -> Bool) throws -> PruneReport {
            let run = lock.withLock { runs += 1; return runs }
            let shots = self.shots
            let simulated = SimulatedPruneRunner(layers: 1, failAtShot: run <= kills ? 2 : nil, onLayer: { s, _ in shots.add(s) })
            do {
                return try simulated.run(request, outputDirectory: outputDirectory, progress: progress, isCancelled: isCancelled)
            } catch is SimulatedPruneRunner.SimulatedFailure {
                progress(PruneProgress(phase: "curvature", shot: 2, shots: request.shots, fraction: 0.4, message: "shot 2 curvature"))
                throw TestKill()
            }
        }
    }

    func spec() -> JobSpec {
        JobSpec(request: PruneRequest(model: "m.gguf", sparsity: 0.3, shots: 3, calibration: "c.txt"), owner: "alice")
    }

    func testKilledRun_IsQueuedAgainAndResumesAfterItsLastShot() throws {
        let runner = KillingRunner(kills: 1)
        let m = JobManager(store: MemoryJobStore(), runner: runner, options: .init(crashRetries: 2))
        try m.start(); defer { m.stop() }
        let (job, _) = try m.submit(spec())
        XCTAssertTrue(m.waitUntilIdle(timeout: 10))
        let done = try XCTUnwrap(m.job(job.id))
        XCTAssertEqual(done.status, .succeeded)
        XCTAssertEqual(done.state.attempt, 2)
        XCTAssertEqual(done.state.crashes, 1)
        XCTAssertNil(done.error)
        XCTAssertEqual(runner.shots.shots, [1, 2, 3], "attempt 1 ran shot 1, attempt 2 resumed at shot 2")
        let statuses = try m.events(of: job.id, after: 0).filter { $0.kind == .status }
        XCTAssertEqual(statuses.map(\.status), [.queued, .running, .queued, .running, .succeeded])
        XCTAssertEqual(statuses[2].message, "test worker killed during shot 2; retry 1 of 2: attempt 2 resumes after shot 1")
        XCTAssertEqual(statuses[2].attempt, 2)
        XCTAssertEqual(statuses[3].message, "running attempt 2, resuming after shot 1")
    }

    func testRunKilledEveryTime_FailsAfterTheRetriesWithTheReasonAndCode() throws {
        let runner = KillingRunner(kills: .max)
        let m = JobManager(store: MemoryJobStore(), runner: runner, options: .init(crashRetries: 2))
        try m.start(); defer { m.stop() }
        let (job, _) = try m.submit(spec())
        XCTAssertTrue(m.waitUntilIdle(timeout: 10))
        let done = try XCTUnwrap(m.job(job.id))
        XCTAssertEqual(done.status, .failed)
        XCTAssertEqual(done.state.attempt, 3)
        XCTAssertEqual(done.error?.code, "test_killed")
        XCTAssertEqual(done.error?.message, "test worker killed during shot 2 (after 2 retries)")
        XCTAssertEqual(done.error?.phase, "curvature")
        XCTAssertEqual(try m.events(of: job.id, after: 0).filter { $0.kind == .status }.map(\.status),
                       [.queued, .running, .queued, .running, .queued, .running, .failed])
    }

    func testOrdinaryRunnerError_IsNotRetried() throws {
        let m = JobManager(store: MemoryJobStore(), runner: SimulatedPruneRunner(failAtShot: 2), options: .init(crashRetries: 2))
        try m.start(); defer { m.stop() }
        let (job, _) = try m.submit(spec())
        XCTAssertTrue(m.waitUntilIdle(timeout: 10))
        let done = try XCTUnwrap(m.job(job.id))
        XCTAssertEqual(done.status, .failed)
        XCTAssertEqual(done.state.attempt, 1)
        XCTAssertEqual(done.error?.code, "runner_error")
    }

    func testContextualRunner_GetsTheJobIdAttemptAndEstimate() throws {
        final class Recorder: JobContextPruneRunner, @unchecked Sendable {
            let lock = NSLock()
            var seen: [JobRunContext] = []
            func run(_ request: PruneRequest, context: JobRunContext, outputDirectory: URL,
                     progress: @escaping @Sendable (PruneProgress) -> Void, isCancelled: @escaping @Sendable () -> Bool) throws -> PruneReport {
                lock.withLock { seen.append(context) }
                return try SimulatedPruneRunner(layers: 1).run(request, outputDirectory: outputDirectory, progress: progress, isCancelled: isCancelled)
            }
            func run(_ request: PruneRequest, outputDirectory: URL, progress: @escaping @Sendable (PruneProgress) -> Void,
                     isCancelled: @escaping @Sendable () -> Bool) throws -> PruneReport {
                XCTFail("the manager must call the contextual run")
                throw PruneCancelled()
            }
        }
        let recorder = Recorder()
        let m = JobManager(store: MemoryJobStore(), runner: recorder)
        try m.start(); defer { m.stop() }
        var s = spec()
        s.memoryEstimateBytes = 3 << 30
        let (job, _) = try m.submit(s)
        XCTAssertTrue(m.waitUntilIdle(timeout: 10))
        XCTAssertEqual(try m.job(job.id)?.status, .succeeded)
        XCTAssertEqual(recorder.lock.withLock { recorder.seen }, [JobRunContext(jobID: job.id, attempt: 1, memoryEstimateBytes: 3 << 30)])
    }
}
