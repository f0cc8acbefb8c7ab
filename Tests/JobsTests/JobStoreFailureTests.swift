import XCTest
import Pruning
@testable import Jobs

/// A store whose disk can be made to refuse writes: like `DiskJobStore` on a full disk, it keeps the new
/// state and events in memory and throws.
final class RefusingStore: JobStore, @unchecked Sendable {
    let inner = MemoryJobStore()
    private let lock = NSLock()
    private var refusing = false
    var refuses: Bool {
        get { lock.withLock { refusing } }
        set { lock.withLock { refusing = newValue } }
    }
    struct Refused: Error {}

    func create(_ job: Job) throws { if refuses { throw JobStoreError.diskFull(path: job.id, message: "refused") }; try inner.create(job) }
    func save(_ job: Job) throws { try inner.save(job); if refuses { throw JobStoreError.diskFull(path: job.id, message: "refused") } }
    func load(_ id: String) throws -> Job? { try inner.load(id) }
    func loadAll() throws -> [Job] { try inner.loadAll() }
    func delete(_ id: String) throws { try inner.delete(id) }
    func append(_ event: JobEvent, to id: String) throws -> JobEvent {
        let e = try inner.append(event, to: id)
        if refuses { throw JobStoreError.diskFull(path: id, message: "refused") }
        return e
    }
    func events(of id: String, after: Int) throws -> [JobEvent] { try inner.events(of: id, after: after) }
    func outputDirectory(of id: String) throws -> URL { try inner.outputDirectory(of: id) }
    func inputsDirectory(of id: String) throws -> URL { try inner.inputsDirectory(of: id) }
    func flush() -> Bool { !refuses }
}

/// Store errors (a full disk) never leave a job `running` without a worker or the queue stuck.
final class JobStoreFailureTests: XCTestCase {
    func spec(shots: Int = 2) -> JobSpec {
        JobSpec(request: PruneRequest(model: "m.gguf", sparsity: 0.3, shots: shots, calibration: "c.txt"), owner: "alice")
    }

    func testResultThatCannotBeRecorded_FailsTheJobWithTheReason_AndTheNextJobRuns() throws {
        let store = RefusingStore()
        let gate = Gate(shot: 2, layer: 1)
        let m = JobManager(store: store, runner: SimulatedPruneRunner(layers: 1, onLayer: gate.hook))
        try m.start(); defer { m.stop() }
        let (first, _) = try m.submit(spec())
        let (second, _) = try m.submit(spec(shots: 1))
        gate.reached.wait()
        store.refuses = true   // the disk fills up before the first job's result is recorded
        gate.release.signal()
        let deadline = Date().addingTimeInterval(10)
        while try m.job(first.id)?.status.isTerminal != true, Date() < deadline { usleep(10_000) }
        let failed = try XCTUnwrap(m.job(first.id))
        XCTAssertEqual(failed.status, .failed)
        XCTAssertEqual(failed.error?.code, "insufficient_storage")
        XCTAssertTrue(failed.error?.message.contains("could not be recorded") == true, failed.error?.message ?? "")
        // The second job could not be recorded as started either: it fails with the reason instead of hanging.
        while try m.job(second.id)?.status.isTerminal != true, Date() < deadline { usleep(10_000) }
        XCTAssertEqual(try m.job(second.id)?.status, .failed)
        XCTAssertEqual(try m.job(second.id)?.error?.phase, "start")
        store.refuses = false
        let (third, _) = try m.submit(spec(shots: 1))
        XCTAssertTrue(m.waitUntilIdle(timeout: 10))
        XCTAssertEqual(try m.job(third.id)?.status, .succeeded, "the queue proceeds")
        let stats = try m.statistics()
        XCTAssertEqual(stats.queueDepth, 0)
        XCTAssertEqual(stats.busyWorkers, 0)
        XCTAssertThrowsError(try m.cancel(first.id)) { XCTAssertTrue($0 is JobTransitionError, "a failed job is terminal: 409") }
        XCTAssertNoThrow(try m.delete(first.id), "a failed job can be deleted")
    }

    func testCancelQueuedJob_WhileTheDiskRefusesWrites_IsCancelledAndLeavesTheQueue() throws {
        let store = RefusingStore()
        let m = JobManager(store: store, runner: SimulatedPruneRunner())
        let (job, _) = try m.submit(spec())
        store.refuses = true
        XCTAssertEqual(try m.cancel(job.id).status, .cancelled)
        XCTAssertEqual(try m.job(job.id)?.status, .cancelled)
        XCTAssertEqual(try m.statistics().queueDepth, 0)
        XCTAssertEqual(try m.statistics().byStatus[.cancelled], 1)
        store.refuses = false
        try m.start(); defer { m.stop() }
        XCTAssertTrue(m.waitUntilIdle(timeout: 5))
        XCTAssertNil(try m.job(job.id)?.startedAt, "it never ran")
    }

    func testFullDisk_FailsTheJobInMemoryAndOnDiskOnceThereIsRoom() throws {
        let disk = try TmpfsMount(size: "1m")
        let root = disk.url.appendingPathComponent("jobs")
        final class Box: @unchecked Sendable { var filler: URL? }
        let box = Box()
        // At the last layer the disk fills up: the runner's final save fails, and so does the state write after it.
        let runner = SimulatedPruneRunner(layers: 2, modelBytes: 256 << 10, onLayer: { shot, layer in
            if shot == 2 && layer == 2 && box.filler == nil { box.filler = disk.fill() }
        })
        let m = JobManager(store: try DiskJobStore(root: root), runner: runner)
        try m.start(); defer { m.stop() }
        let (job, _) = try m.submit(spec())
        let deadline = Date().addingTimeInterval(10)
        while try m.job(job.id)?.status.isTerminal != true, Date() < deadline { usleep(10_000) }
        let failed = try XCTUnwrap(m.job(job.id))
        XCTAssertEqual(failed.status, .failed, "the job is not left running without a worker")
        XCTAssertTrue(m.waitUntilIdle(timeout: 5))
        XCTAssertEqual(try m.statistics().busyWorkers, 0)
        XCTAssertNoThrow(try m.events(of: job.id, after: 0))
        XCTAssertTrue(try m.events(of: job.id, after: 0).last?.isTerminal == true, "event streams see the end")
        // Room again: the next job runs, and the failed state reaches the disk.
        try FileManager.default.removeItem(at: try XCTUnwrap(box.filler))
        let (next, _) = try m.submit(spec(shots: 1))
        XCTAssertTrue(m.waitUntilIdle(timeout: 10))
        XCTAssertEqual(try m.job(next.id)?.status, .succeeded)
        let reopened = try DiskJobStore(root: root)
        XCTAssertEqual(try reopened.load(job.id)?.status, .failed)
        XCTAssertTrue(try reopened.events(of: job.id, after: 0).last?.isTerminal == true)
        XCTAssertNoThrow(try m.delete(job.id))
    }

    func testPinnedInputGoneOrChanged_FailsTheAttemptWithAClearError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-pins-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("m.gguf")
        try Data(repeating: 1, count: 100).write(to: file)
        let m = JobManager(store: MemoryJobStore(), runner: SimulatedPruneRunner(layers: 1))
        var registered = spec()
        registered.inputs = [PinnedInput(role: "model", name: "m.gguf", sha256: "aa", size: 100, path: file.path, linked: false,
                                         identity: PinnedInput.identity(ofFile: file.path))]
        var gone = spec()
        gone.inputs = [PinnedInput(role: "model", name: "x.gguf", sha256: "bb", size: 5, path: dir.appendingPathComponent("x").path, linked: true)]
        let (a, _) = try m.submit(registered)
        let (b, _) = try m.submit(gone)
        try FileManager.default.removeItem(at: file)  // replaced by a different file of the same size
        try Data(repeating: 2, count: 100).write(to: file)
        try m.start(); defer { m.stop() }
        XCTAssertTrue(m.waitUntilIdle(timeout: 10))
        XCTAssertEqual(try m.job(a.id)?.error?.code, "input_changed")
        XCTAssertEqual(try m.job(b.id)?.error?.code, "input_missing")
        XCTAssertTrue(try m.job(b.id)?.error?.message.contains("x.gguf (sha256 bb, pinned when the job was submitted) is gone") == true)
    }
}
