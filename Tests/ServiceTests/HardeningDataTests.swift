import Foundation
import HTTP
import Jobs
import Pruning
import XCTest
@testable import Service

/// Data is never wrong or lost without a crash: uploads publish bytes and description together, a full disk
/// answers 507 with the old version intact, jobs read the inputs they were submitted with, and what crashes
/// leave is swept at start.
final class HardeningDataTests: XCTestCase {
    func info(_ h: ServiceHarness, _ name: String) throws -> BlobInfo {
        try XCTUnwrap(h.service.models.get(owner: "alice", name: name))
    }

    func testConcurrentUploadsToOneName_LeaveTheDescriptionOfTheStoredBytes() throws {
        let h = try ServiceHarness()
        for round in 0..<60 {
            let bodies = (0..<2).map { i in Array(repeating: UInt8(truncatingIfNeeded: round * 2 + i), count: 20_000 + i * 7_000 + round) }
            let service = h.service, auth = h.alice
            DispatchQueue.concurrentPerform(iterations: 2) { i in
                let headers = HTTPHeaders([("Authorization", auth), ("Content-Length", String(bodies[i].count))])
                let r = service.handle(HTTPRequest(method: "PUT", target: "/v1/models/race.gguf", path: "/v1/models/race.gguf",
                                                   headers: headers, body: .bytes(bodies[i])))
                XCTAssertTrue(r.status == 200 || r.status == 201, "round \(round): \(r.status) \(r.text)")
            }
            let stored = try info(h, "race.gguf")
            let bytes = try Data(contentsOf: URL(fileURLWithPath: stored.path))
            let r = h.send("GET", "/v1/models/race.gguf", auth: h.alice)
            XCTAssertEqual(r.json["sha256"] as? String, SHA256.hex(of: Array(bytes)), "round \(round): sha256 of the stored bytes")
            XCTAssertEqual(r.json["size"] as? Int, bytes.count, "round \(round): size of the stored bytes")
            XCTAssertEqual(r.headers["ETag"], "\"\(SHA256.hex(of: Array(bytes)))\"", "round \(round)")
            XCTAssertTrue(bodies.contains(Array(bytes)), "round \(round): one of the two uploads")
        }
        let versions = try FileManager.default.contentsOfDirectory(atPath: h.dataDir.appendingPathComponent("models/alice/.data").path)
        XCTAssertEqual(versions.count, 1, "replaced versions are removed")
    }

    func testReuploadOnAFullDisk_Is507AndKeepsTheOldBytesAndDescription() throws {
        let disk = try TmpfsMount(size: "2m")
        let h = try ServiceHarness(configure: { $0.dataDir = disk.url.appendingPathComponent("data").path })
        let old = Array(repeating: UInt8(1), count: 8 << 10)
        XCTAssertEqual(h.send("PUT", "/v1/models/a.gguf", auth: h.alice, body: old).status, 201)
        let before = try info(h, "a.gguf")

        // The new bytes fit exactly, but their description does not.
        let new = Array(repeating: UInt8(2), count: 64 << 10)
        let filler = disk.fill(leaving: new.count)
        let r = h.send("PUT", "/v1/models/a.gguf", auth: h.alice, body: new)
        XCTAssertEqual(r.status, 507, r.text)
        XCTAssertEqual(r.json["code"] as? String, "insufficient_storage")
        // The new bytes do not fit at all.
        XCTAssertEqual(h.send("PUT", "/v1/models/a.gguf", auth: h.alice, body: Array(repeating: 3, count: 256 << 10)).status, 507)

        let after = try info(h, "a.gguf")
        XCTAssertEqual(after, before, "the description is the old one")
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: after.path))), old, "the old bytes are intact")
        XCTAssertEqual(h.send("GET", "/v1/models/a.gguf", auth: h.alice).headers["ETag"], "\"\(SHA256.hex(of: old))\"")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: disk.url.appendingPathComponent("data/tmp").path), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: disk.url.appendingPathComponent("data/models/alice/.data").path).count, 1)

        try FileManager.default.removeItem(at: filler)
        let ok = h.send("PUT", "/v1/models/a.gguf", auth: h.alice, body: new)
        XCTAssertEqual(ok.status, 200)
        XCTAssertEqual(ok.json["sha256"] as? String, SHA256.hex(of: new))
    }

    /// Records the sha256 of the model file at the start of every run, then runs the simulated prune.
    final class ModelReadingRunner: PruneRunner, @unchecked Sendable {
        let inner: SimulatedPruneRunner
        private let lock = NSLock()
        private var seen: [String] = []
        var shas: [String] { lock.withLock { seen } }
        init(_ inner: SimulatedPruneRunner) { self.inner = inner }
        func run(_ request: PruneRequest, outputDirectory: URL, progress: @escaping @Sendable (PruneProgress) -> Void,
                 isCancelled: @escaping @Sendable () -> Bool) throws -> PruneReport {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: request.model))
            lock.withLock { seen.append(SHA256.hex(of: Array(bytes))) }
            return try inner.run(request, outputDirectory: outputDirectory, progress: progress, isCancelled: isCancelled)
        }
    }

    func testJobPinnedByContent_AReuploadDoesNotChangeWhatTheResumedJobReads() throws {
        let gate = Gate(shot: 2)
        let runner = ModelReadingRunner(SimulatedPruneRunner(layers: 2, onLayer: gate.hook))
        let h = try ServiceHarness(runner: runner)
        h.seedInputs()
        let v1 = try info(h, "m.gguf").sha256
        let id = try h.submit()
        gate.reached.wait()
        // The model is replaced and then the service restarts while the job is in shot 2.
        XCTAssertEqual(h.send("PUT", "/v1/models/m.gguf", auth: h.alice, body: Array(repeating: 9, count: 2000)).status, 200)
        XCTAssertNotEqual(try info(h, "m.gguf").sha256, v1)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { gate.release.signal() }
        h.service.manager.stop()
        let job = try XCTUnwrap(try h.service.manager.store.load(id))
        XCTAssertEqual(job.status, .running)
        XCTAssertEqual(job.spec.inputs.map(\.role), ["model", "calibration"])
        XCTAssertEqual(job.spec.inputs.first?.sha256, v1)

        gate.release.signal()  // the resumed attempt passes the gate again
        let restarted = JobManager(store: h.service.manager.store, runner: runner)
        try restarted.start(); defer { restarted.stop() }
        XCTAssertTrue(restarted.waitUntilIdle(timeout: 10))
        XCTAssertEqual(try restarted.job(id)?.status, .succeeded)
        XCTAssertEqual(try restarted.job(id)?.state.attempt, 2)
        XCTAssertEqual(runner.shas, [v1, v1], "both attempts read the model the job was submitted with")
    }

    func testJobWhosePinnedModelIsGone_FailsWithAClearError() throws {
        let h = try ServiceHarness(start: false)
        h.seedInputs()
        let id = try h.submit()
        let spec = try XCTUnwrap(try h.service.manager.store.load(id)).spec
        XCTAssertEqual(spec.resolved.model, spec.inputs.first?.path, "the runner reads the pinned file")
        try FileManager.default.removeItem(atPath: spec.resolved.model)
        try h.service.manager.start()
        XCTAssertTrue(h.service.manager.waitUntilIdle(timeout: 10))
        let r = h.send("GET", "/v1/jobs/\(id)", auth: h.alice)
        XCTAssertEqual(r.json["status"] as? String, "failed")
        let error = try XCTUnwrap(r.json["error"] as? [String: Any])
        XCTAssertEqual(error["code"] as? String, "input_missing")
        XCTAssertTrue((error["message"] as? String)?.contains("the model m.gguf") == true, "\(error)")
    }

    func testDeletingAModel_DoesNotTakeItFromAQueuedJob() throws {
        let h = try ServiceHarness(start: false)
        h.seedInputs()
        let id = try h.submit()
        XCTAssertEqual(h.send("DELETE", "/v1/models/m.gguf", auth: h.alice).status, 204)
        try h.service.manager.start()
        XCTAssertTrue(h.service.manager.waitUntilIdle(timeout: 10))
        XCTAssertEqual(h.send("GET", "/v1/jobs/\(id)", auth: h.alice).json["status"] as? String, "succeeded")
    }

    func testCancelQueuedJob_Is202Cancelled() throws {
        let gate = Gate(shot: 1)
        let h = try ServiceHarness(runner: SimulatedPruneRunner(layers: 2, onLayer: gate.hook))
        h.seedInputs()
        let running = try h.submit()
        gate.reached.wait()
        let queued = try h.submit()
        let r = h.send("POST", "/v1/jobs/\(queued)/cancel", auth: h.alice)
        XCTAssertEqual(r.status, 202, r.text)
        XCTAssertEqual(r.json["status"] as? String, "cancelled")
        gate.release.signal()
        XCTAssertTrue(h.service.manager.waitUntilIdle(timeout: 10))
        XCTAssertEqual(h.send("GET", "/v1/jobs/\(running)", auth: h.alice).json["status"] as? String, "succeeded")
        XCTAssertEqual(h.send("DELETE", "/v1/jobs/\(queued)", auth: h.alice).status, 204)
    }

    func testRestart_SweepsPartialUploadsTempFilesAndStatelessJobs_AndKeepsValidData() throws {
        let fm = FileManager.default
        let data = fm.temporaryDirectory.appendingPathComponent("surgeon-restart-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: data) }
        var config = ServiceConfig()
        config.dataDir = data.path
        config.maxJobMemoryBytes = 1 << 40
        config.memoryBudgetBytes = 1 << 40
        config.tokens = [.init(name: "alice", sha256: SHA256.hex(of: Array("alice-token".utf8)))]
        let auth = "Bearer alice-token"
        func send(_ s: SurgeonService, _ method: String, _ path: String, _ body: [UInt8] = []) -> HTTPResponse {
            var headers = HTTPHeaders([("Authorization", auth)])
            if !body.isEmpty { headers["Content-Length"] = String(body.count) }
            return s.handle(HTTPRequest(method: method, target: path, path: path, headers: headers, body: .bytes(body)))
        }

        let first = try SurgeonService.make(config: config, runner: SimulatedPruneRunner(layers: 1))
        try first.manager.start()
        let model = Array(repeating: UInt8(5), count: 3000)
        XCTAssertEqual(send(first, "PUT", "/v1/models/m.gguf", model).status, 201)
        XCTAssertEqual(send(first, "PUT", "/v1/texts/cal.txt", Array("calibration".utf8)).status, 201)
        let created = first.handle(HTTPRequest(method: "POST", target: "/v1/jobs", path: "/v1/jobs",
                                               headers: HTTPHeaders([("Authorization", auth), ("Content-Type", "application/json")]),
                                               body: .bytes(Array(#"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.3,"shots":1}"#.utf8))))
        XCTAssertEqual(created.status, 201, created.text)
        let id = try XCTUnwrap(created.json["id"] as? String)
        XCTAssertTrue(first.manager.waitUntilIdle(timeout: 10))
        first.manager.stop()
        let modelInfo = try XCTUnwrap(first.models.get(owner: "alice", name: "m.gguf"))

        // A crash leaves: a partial upload, a description cut short, an upload no description names, a version
        // file of the old layout, a half-deleted job, a job without state, and temp files inside a valid job.
        let leftovers = [
            data.appendingPathComponent("tmp/upload-0F3A"),
            data.appendingPathComponent("models/alice/.meta/.tmp-m.gguf.json-77"),
            data.appendingPathComponent("models/alice/.data/0000dead.m.gguf"),
            data.appendingPathComponent("models/alice/stray.gguf"),
            data.appendingPathComponent("jobs/.deleted-job_0000000000aa00000000aa/state.json"),
            data.appendingPathComponent("jobs/job_0000000000bb00000000bb/request.json"),
            data.appendingPathComponent("jobs/\(id)/.tmp-state.json-5"),
            data.appendingPathComponent("jobs/\(id)/output/model.safetensors.tmp-99"),
        ]
        for url in leftovers {
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(repeating: 1, count: 100).write(to: url)
        }

        let second = try SurgeonService.make(config: config, runner: SimulatedPruneRunner(layers: 1))
        try second.manager.start(); defer { second.manager.stop() }
        for url in leftovers { XCTAssertFalse(fm.fileExists(atPath: url.path), "swept: \(url.path)") }
        XCTAssertFalse(fm.fileExists(atPath: data.appendingPathComponent("jobs/job_0000000000bb00000000bb").path))
        XCTAssertTrue(second.models.swept.contains { $0.contains("upload-0F3A") }, "\(second.models.swept)")
        // Valid data is kept.
        XCTAssertEqual(second.models.get(owner: "alice", name: "m.gguf"), modelInfo)
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: modelInfo.path))), model)
        XCTAssertEqual(send(second, "GET", "/v1/texts/cal.txt").status, 200)
        let job = send(second, "GET", "/v1/jobs/\(id)")
        XCTAssertEqual(job.json["status"] as? String, "succeeded")
        XCTAssertEqual(send(second, "GET", "/v1/jobs/\(id)/artifacts/model.safetensors").status, 200)
        XCTAssertTrue(fm.fileExists(atPath: data.appendingPathComponent("jobs/\(id)/inputs/model/m.gguf").path), "the job's pins are kept")
    }
}

/// A size-capped tmpfs mounted for one test (we run as root); `XCTSkip` with the reason when it cannot be.
final class TmpfsMount: @unchecked Sendable {
    let url: URL

    init(size: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-tmpfs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let (status, output) = Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", url.path])
        guard status == 0 else {
            try? FileManager.default.removeItem(at: url)
            let reason = "cannot mount a tmpfs (\(output.trimmingCharacters(in: .whitespacesAndNewlines))); the full-disk case is not tested"
            print("SKIP: \(reason)")
            throw XCTSkip(reason)
        }
    }

    deinit {
        _ = Self.run("/bin/umount", ["-l", url.path])
        try? FileManager.default.removeItem(at: url)
    }

    var freeBytes: Int {
        var st = statvfs()
        guard statvfs(url.path, &st) == 0 else { return 0 }
        return Int(st.f_bavail) * Int(st.f_frsize)
    }

    /// Fills the disk up to `left` free bytes with a filler file and returns its URL.
    @discardableResult
    func fill(leaving left: Int = 0) -> URL {
        let filler = url.appendingPathComponent("filler")
        let want = max(0, freeBytes - left)
        FileManager.default.createFile(atPath: filler.path, contents: nil)
        guard let fh = FileHandle(forWritingAtPath: filler.path) else { return filler }
        var written = 0
        let chunk = Data(repeating: 0xAB, count: 64 << 10)
        while written < want {
            let n = min(chunk.count, want - written)
            do { try fh.write(contentsOf: chunk.prefix(n)) } catch { break }
            written += n
        }
        try? fh.close()
        return filler
    }

    static func run(_ tool: String, _ args: [String]) -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe; p.standardError = pipe
        do { try p.run() } catch { return (-1, "\(error)") }
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }
}
