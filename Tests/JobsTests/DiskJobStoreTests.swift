import XCTest
import Pruning
@testable import Jobs

final class DiskJobStoreTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-store-\(UUID().uuidString)")
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    func makeJob(_ id: String) -> Job {
        Job(id: id, spec: JobSpec(request: PruneRequest(model: "m.gguf", sparsity: 0.3, calibration: "c.txt"), owner: "alice"),
            createdAt: Date(timeIntervalSince1970: 1_800_000_000))
    }

    func testCreate_WritesRequestStateAndNoTempFiles() throws {
        let store = try DiskJobStore(root: root)
        try store.create(makeJob("job_1"))
        let names = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("job_1").path).sorted()
        XCTAssertEqual(names, ["request.json", "state.json"])
        XCTAssertEqual(try store.load("job_1"), makeJob("job_1"))
        XCTAssertThrowsError(try store.create(makeJob("job_1")))
    }

    func testEvents_AreNumberedAndSurviveReopeningTheStore() throws {
        let store = try DiskJobStore(root: root)
        try store.create(makeJob("job_1"))
        let t = Date(timeIntervalSince1970: 1_800_000_000)
        XCTAssertEqual(try store.append(JobEvent(time: t, kind: .status, status: .queued), to: "job_1").sequence, 1)
        XCTAssertEqual(try store.append(JobEvent(time: t, kind: .status, status: .running), to: "job_1").sequence, 2)
        let reopened = try DiskJobStore(root: root)
        XCTAssertEqual(try reopened.append(JobEvent(time: t, kind: .status, status: .succeeded), to: "job_1").sequence, 3)
        XCTAssertEqual(try reopened.events(of: "job_1", after: 1).map(\.sequence), [2, 3])
    }

    func testTornLastEventLine_IsSkippedAndNumberingContinues() throws {
        let store = try DiskJobStore(root: root)
        try store.create(makeJob("job_1"))
        let t = Date(timeIntervalSince1970: 1_800_000_000)
        _ = try store.append(JobEvent(time: t, kind: .status, status: .queued), to: "job_1")
        // A crash mid-append leaves half a line.
        try AtomicFile.append(Data("{\"sequence\":2,\"ti".utf8), to: root.appendingPathComponent("job_1/events.jsonl"), sync: true)
        let reopened = try DiskJobStore(root: root)
        XCTAssertEqual(try reopened.events(of: "job_1", after: 0).map(\.sequence), [1])
    }

    func testLeftoverTempFileFromACrash_DoesNotReplaceTheState() throws {
        let store = try DiskJobStore(root: root)
        var job = makeJob("job_1")
        try store.create(job)
        job.state = JobState(status: .running)
        try store.save(job)
        // A crash after writing the temp file but before the rename.
        try Data("{garbage".utf8).write(to: root.appendingPathComponent("job_1/.tmp-state.json-dead"))
        XCTAssertEqual(try DiskJobStore(root: root).load("job_1")?.status, .running)
    }

    func testDelete_RemovesTheDirectory() throws {
        let store = try DiskJobStore(root: root)
        try store.create(makeJob("job_1"))
        _ = try store.outputDirectory(of: "job_1")
        try store.delete("job_1")
        XCTAssertNil(try store.load("job_1"))
        XCTAssertEqual(try store.loadAll().count, 0)
        XCTAssertThrowsError(try store.delete("job_1"))
    }
}
