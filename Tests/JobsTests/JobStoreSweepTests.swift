import XCTest
import Pruning
@testable import Jobs

/// What crashes leave in the jobs directory is swept at start; valid jobs and their files are kept.
final class JobStoreSweepTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-sweep-\(UUID().uuidString)")
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    func spec() -> JobSpec {
        JobSpec(request: PruneRequest(model: "m.gguf", sparsity: 0.3, shots: 2, calibration: "c.txt"), owner: "alice")
    }

    func testStart_SweepsLeftoversOfCrashes_AndKeepsValidJobs() throws {
        let fm = FileManager.default
        // A finished job and a job left running by a crash, with their real files.
        let first = JobManager(store: try DiskJobStore(root: root), runner: SimulatedPruneRunner(layers: 1))
        try first.start()
        let (done, _) = try first.submit(spec())
        XCTAssertTrue(first.waitUntilIdle(timeout: 10))
        first.stop()
        let store = try DiskJobStore(root: root)
        var crashed = Job(id: "job_0000000000010000000001", spec: spec(), createdAt: Date())
        try store.create(crashed)
        _ = try store.append(JobEvent(time: Date(), kind: .status, status: .queued, message: "queued"), to: crashed.id)
        _ = try crashed.state.handle(.start)
        try store.save(crashed)
        let out = try store.outputDirectory(of: crashed.id)
        try fm.createDirectory(at: out.appendingPathComponent("checkpoints/shot-1"), withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: out.appendingPathComponent("checkpoints/shot-1/checkpoint.json"))

        // Leftovers.
        let leftovers = [
            root.appendingPathComponent(".deleted-job_00000000000a0000000002/state.json"),     // a delete cut short
            root.appendingPathComponent("job_00000000000b0000000003/request.json"),            // a submit cut short
            root.appendingPathComponent(crashed.id).appendingPathComponent(".tmp-state.json-1a2b"),
            out.appendingPathComponent("checkpoints/shot-2.tmp/weights.safetensors"),          // a checkpoint cut short
            out.appendingPathComponent("checkpoints/.tmp-shot-2/model.bin"),
            out.appendingPathComponent("model.safetensors.tmp-4242"),
            out.appendingPathComponent(".report.json.tmp"),
            out.appendingPathComponent("spill/A-0.bin"),                                        // the shot's spill
        ]
        for url in leftovers {
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(repeating: 9, count: 64).write(to: url)
        }
        try AtomicFile.append(Data("{\"sequence\":2,\"ti".utf8), to: root.appendingPathComponent(crashed.id).appendingPathComponent("events.jsonl"), sync: true)
        let doneFiles = try fm.contentsOfDirectory(atPath: try store.outputDirectory(of: done.id).path).sorted()

        let m = JobManager(store: try DiskJobStore(root: root), runner: SimulatedPruneRunner(layers: 1))
        try m.start(); defer { m.stop() }
        XCTAssertTrue(m.waitUntilIdle(timeout: 10))

        for url in leftovers {
            XCTAssertFalse(fm.fileExists(atPath: url.path), "swept: \(url.path)")
        }
        XCTAssertFalse(fm.fileExists(atPath: root.appendingPathComponent(".deleted-job_00000000000a0000000002").path))
        XCTAssertFalse(fm.fileExists(atPath: root.appendingPathComponent("job_00000000000b0000000003").path))
        XCTAssertFalse(fm.fileExists(atPath: out.appendingPathComponent("spill").path))
        XCTAssertEqual(try m.job(done.id)?.status, .succeeded, "a valid job is kept")
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: try m.outputDirectory(of: done.id).path).sorted(), doneFiles)
        let resumed = try XCTUnwrap(m.job(crashed.id))
        XCTAssertEqual(resumed.status, .succeeded, "the crashed job resumed")
        XCTAssertEqual(resumed.state.attempt, 2)
        // The torn line was cut, so every event after it is readable.
        let events = try m.events(of: crashed.id, after: 0)
        XCTAssertEqual(events.map(\.sequence), Array(1...events.count))
        XCTAssertTrue(events.last?.isTerminal == true)
    }
}
