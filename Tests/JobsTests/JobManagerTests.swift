import XCTest
import Pruning
@testable import Jobs

/// Holds a runner at one (shot, layer) until released.
final class Gate: @unchecked Sendable {
    let reached = DispatchSemaphore(value: 0)
    let release = DispatchSemaphore(value: 0)
    let shot: Int, layer: Int
    init(shot: Int, layer: Int = 1) { self.shot = shot; self.layer = layer }
    func hook(_ s: Int, _ l: Int) {
        if s == shot && l == layer { reached.signal(); release.wait() }
    }
}

final class JobManagerTests: XCTestCase {
    func spec(_ key: String? = nil, sparsity: Double = 0.3, shots: Int = 3, owner: String = "alice") -> JobSpec {
        JobSpec(request: PruneRequest(model: "m.gguf", sparsity: sparsity, shots: shots, calibration: "c.txt"),
                owner: owner, idempotencyKey: key)
    }

    func testSubmittedJob_RunsToSucceededWithResultAndOrderedEvents() throws {
        let m = JobManager(store: MemoryJobStore(), runner: SimulatedPruneRunner(layers: 2))
        try m.start(); defer { m.stop() }
        let (job, created) = try m.submit(spec())
        XCTAssertTrue(created)
        XCTAssertTrue(m.waitUntilIdle(timeout: 10))
        let done = try XCTUnwrap(m.job(job.id))
        XCTAssertEqual(done.status, .succeeded)
        XCTAssertEqual(done.state.finishedShots, 3)
        XCTAssertEqual(done.result?.shots.count, 3)
        XCTAssertNotNil(done.finishedAt)
        let events = try m.events(of: job.id, after: 0)
        XCTAssertEqual(events.map(\.sequence), Array(1...events.count))
        XCTAssertEqual(events.filter { $0.kind == .checkpoint }.map(\.shot), [1, 2, 3])
        XCTAssertTrue(events.last!.isTerminal)
        XCTAssertEqual(events.filter { $0.kind == .status }.map(\.status), [.queued, .running, .succeeded])
    }

    func testSameIdempotencyKey_ReplaysSameBodyAndRefusesOtherBody() throws {
        let m = JobManager(store: MemoryJobStore(), runner: SimulatedPruneRunner())
        let first = try m.submit(spec("k1"))
        let again = try m.submit(spec("k1"))
        XCTAssertFalse(again.created)
        XCTAssertEqual(again.job.id, first.job.id)
        XCTAssertThrowsError(try m.submit(spec("k1", sparsity: 0.5))) {
            XCTAssertEqual($0 as? JobManagerError, .idempotencyMismatch(jobID: first.job.id))
        }
        // Another owner's key is a different key.
        XCTAssertTrue(try m.submit(spec("k1", owner: "bob")).created)
    }

    func testFullQueue_RefusesNewJobs() throws {
        let m = JobManager(store: MemoryJobStore(), runner: SimulatedPruneRunner(), options: .init(workers: 1, queueCapacity: 2))
        _ = try m.submit(spec())
        _ = try m.submit(spec())
        XCTAssertThrowsError(try m.submit(spec())) { XCTAssertTrue($0 is JobQueueFull) }
    }

    func testCancelQueuedJob_BecomesCancelledAtOnceAndNeverRuns() throws {
        let m = JobManager(store: MemoryJobStore(), runner: SimulatedPruneRunner())
        let (job, _) = try m.submit(spec())
        XCTAssertEqual(try m.cancel(job.id).status, .cancelled)
        try m.start(); defer { m.stop() }
        XCTAssertTrue(m.waitUntilIdle(timeout: 5))
        XCTAssertEqual(try m.job(job.id)?.status, .cancelled)
        XCTAssertNil(try m.job(job.id)?.startedAt)
        XCTAssertThrowsError(try m.cancel(job.id)) { XCTAssertTrue($0 is JobTransitionError) }
    }

    func testCancelRunningJob_GoesThroughCancellingToCancelled() throws {
        let gate = Gate(shot: 2)
        let m = JobManager(store: MemoryJobStore(), runner: SimulatedPruneRunner(layers: 2, onLayer: gate.hook))
        try m.start(); defer { m.stop() }
        let (job, _) = try m.submit(spec())
        gate.reached.wait()
        XCTAssertEqual(try m.cancel(job.id).status, .cancelling)
        XCTAssertEqual(try m.cancel(job.id).status, .cancelling, "a repeated cancel is accepted")
        gate.release.signal()
        XCTAssertTrue(m.waitUntilIdle(timeout: 10))
        let done = try XCTUnwrap(m.job(job.id))
        XCTAssertEqual(done.status, .cancelled)
        XCTAssertEqual(done.state.finishedShots, 1)
        XCTAssertNil(done.result)
    }

    func testRunnerError_FailsTheJobWithCodeAndPhase() throws {
        let m = JobManager(store: MemoryJobStore(), runner: SimulatedPruneRunner(failAtShot: 2))
        try m.start(); defer { m.stop() }
        let (job, _) = try m.submit(spec())
        XCTAssertTrue(m.waitUntilIdle(timeout: 10))
        let done = try XCTUnwrap(m.job(job.id))
        XCTAssertEqual(done.status, .failed)
        XCTAssertEqual(done.error?.code, "runner_error")
        XCTAssertEqual(done.error?.phase, "update")
        XCTAssertThrowsError(try m.delete("nope"))
        try m.delete(job.id)
        XCTAssertNil(try m.job(job.id))
    }

    func testDeleteOfLiveJob_IsRefused() throws {
        let m = JobManager(store: MemoryJobStore(), runner: SimulatedPruneRunner())
        let (job, _) = try m.submit(spec())
        XCTAssertThrowsError(try m.delete(job.id)) { XCTAssertEqual($0 as? JobManagerError, .notTerminal(.queued)) }
    }

    func testCrashWhileRunning_RestartRequeuesWithNextAttemptAndResumesAfterLastShot() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let gate = Gate(shot: 3)
        let first = JobManager(store: try DiskJobStore(root: root), runner: SimulatedPruneRunner(layers: 2, onLayer: gate.hook))
        try first.start()
        let (job, _) = try first.submit(spec(shots: 4))
        gate.reached.wait()
        // "Crash": stop the service while the job runs; it stays `running` on disk.
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { gate.release.signal() }
        first.stop()
        XCTAssertEqual(try DiskJobStore(root: root).load(job.id)?.status, .running)

        let layersRun = Counter()
        let second = JobManager(store: try DiskJobStore(root: root),
                                runner: SimulatedPruneRunner(layers: 2, onLayer: { shot, _ in layersRun.add(shot) }))
        try second.start(); defer { second.stop() }
        XCTAssertTrue(second.waitUntilIdle(timeout: 10))
        let done = try XCTUnwrap(second.job(job.id))
        XCTAssertEqual(done.status, .succeeded)
        XCTAssertEqual(done.state.attempt, 2)
        XCTAssertEqual(layersRun.shots, [3, 3, 4, 4], "attempt 2 resumes after shot 2")
        XCTAssertEqual(done.result?.shots.map(\.shot), [1, 2, 3, 4])
    }

    func testQueuedJobsFoundAtStart_StayQueuedAndRun() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-rescan-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let first = JobManager(store: try DiskJobStore(root: root), runner: SimulatedPruneRunner())
        let (job, _) = try first.submit(spec())
        let second = JobManager(store: try DiskJobStore(root: root), runner: SimulatedPruneRunner())
        try second.start(); defer { second.stop() }
        XCTAssertTrue(second.waitUntilIdle(timeout: 10))
        XCTAssertEqual(try second.job(job.id)?.status, .succeeded)
        XCTAssertEqual(try second.job(job.id)?.state.attempt, 1)
    }

    func testList_PagesNewestFirstWithCursorAndOwnerFilter() throws {
        let clock = ManualClock()
        let m = JobManager(store: MemoryJobStore(), runner: SimulatedPruneRunner(), clock: clock, options: .init(queueCapacity: 10))
        var ids: [String] = []
        for _ in 0..<5 { ids.append(try m.submit(spec()).job.id); clock.advance(1) }
        _ = try m.submit(spec(owner: "bob"))
        let p1 = try m.list(owner: "alice", limit: 2, after: nil)
        XCTAssertEqual(p1.jobs.map(\.id), [ids[4], ids[3]])
        XCTAssertTrue(p1.hasMore)
        let p3 = try m.list(owner: "alice", limit: 2, after: ids[1])
        XCTAssertEqual(p3.jobs.map(\.id), [ids[0]])
        XCTAssertFalse(p3.hasMore)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Int] = []
    func add(_ v: Int) { lock.withLock { values.append(v) } }
    var shots: [Int] { lock.withLock { values } }
}

final class JobManagerCrashTests: XCTestCase {
    func testJobLeftRunningByAHardCrash_ResumesAfterItsCheckpointWithStampsFromTheClock() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-crash-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let clock = ManualClock()
        // What a crash leaves: state.json says running after shot 1, shot 1's checkpoint is on disk.
        let store = try DiskJobStore(root: root)
        var job = Job(id: "job_000000000001", spec: JobSpec(request: PruneRequest(model: "m", sparsity: 0.4, shots: 3, calibration: "c"),
                                                          owner: "alice"), createdAt: clock.now())
        try store.create(job)
        var state = JobState()
        _ = try state.handle(.start)
        _ = try state.handle(.shotFinished(1))
        job.state = state
        try store.save(job)
        let runner = SimulatedPruneRunner(layers: 1)
        // Shot 1 as the runner wrote it before the crash.
        let out = try store.outputDirectory(of: job.id)
        try FileManager.default.createDirectory(at: out.appendingPathComponent("checkpoints/shot-1"), withIntermediateDirectories: true)
        try JobCoding.encoder().encode(PruneReport.Shot(shot: 1, targetSparsity: 0.1, achievedSparsity: 0.1, perplexity: nil, seconds: [:]))
            .write(to: out.appendingPathComponent("checkpoints/shot-1/checkpoint.json"))

        clock.advance(60)
        let shots = Counter()
        let m = JobManager(store: try DiskJobStore(root: root),
                           runner: SimulatedPruneRunner(layers: 1, onLayer: { s, _ in shots.add(s) }), clock: clock)
        _ = runner
        try m.start(); defer { m.stop() }
        XCTAssertTrue(m.waitUntilIdle(timeout: 10))
        let done = try XCTUnwrap(m.job(job.id))
        XCTAssertEqual(done.status, .succeeded)
        XCTAssertEqual(done.state.attempt, 2)
        XCTAssertEqual(shots.shots, [2, 3])
        XCTAssertEqual(done.finishedAt, clock.now())
        XCTAssertEqual(done.createdAt, Date(timeIntervalSince1970: 1_800_000_000))
        let statuses = try m.events(of: job.id, after: 0).filter { $0.kind == .status }
        XCTAssertEqual(statuses.map(\.status), [.queued, .running, .succeeded])
        XCTAssertEqual(statuses.first?.attempt, 2)
    }
}

final class JobManagerWorkerTests: XCTestCase {
    func testTwoWorkers_RunTwoJobsAtOnceAndTheThirdWaits() throws {
        let gate = Gate2()
        let m = JobManager(store: MemoryJobStore(), runner: SimulatedPruneRunner(layers: 1, onLayer: { s, _ in if s == 1 { gate.hold() } }),
                           options: .init(workers: 2, queueCapacity: 4))
        try m.start(); defer { m.stop() }
        let spec = JobSpec(request: PruneRequest(model: "m", sparsity: 0.2, shots: 1, calibration: "c"), owner: "a")
        let ids = try (0..<3).map { _ in try m.submit(spec).job.id }
        gate.waitForHolders(2)
        let stats = try m.statistics()
        XCTAssertEqual(stats.busyWorkers, 2)
        XCTAssertEqual(stats.queueDepth, 1)
        XCTAssertEqual(stats.byStatus[.running], 2)
        XCTAssertEqual(m.queuePosition(of: ids[2]), 1)
        gate.openAll()
        XCTAssertTrue(m.waitUntilIdle(timeout: 10))
        XCTAssertEqual(try ids.map { try m.job($0)?.status }, [.succeeded, .succeeded, .succeeded])
    }
}

/// Holds every runner that calls `hold()` until `openAll()`.
final class Gate2: @unchecked Sendable {
    private let cond = NSCondition()
    private var holders = 0
    private var open = false
    func hold() {
        cond.lock(); holders += 1; cond.broadcast()
        while !open { cond.wait() }
        cond.unlock()
    }
    func waitForHolders(_ n: Int) { cond.lock(); while holders < n { cond.wait() }; cond.unlock() }
    func openAll() { cond.lock(); open = true; cond.broadcast(); cond.unlock() }
}
