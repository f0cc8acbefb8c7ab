import Foundation
import Jobs
import Pruning
import XCTest
@testable import Service

/// `ProcessPruneRunner` against stand-in workers: bash scripts that speak the worker's JSON-line
/// protocol, exit with an error, get killed, outgrow their memory limit or ignore SIGTERM; then
/// once against the real `surgeon worker` on SmolLM2 (skipped without the model or the binary).
final class ProcessRunnerTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-proc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    let request = PruneRequest(model: "/models/m.gguf", sparsity: 0.2, shots: 2, calibration: "/texts/c.txt")

    /// A report the stand-in workers copy to `report.json`.
    func writeReportFixture() throws -> (PruneReport, URL) {
        let report = PruneReport(request: request, prunableParameters: 100, removedParameters: 20, parametersBefore: 120,
                                 parametersAfter: 100, perplexityBefore: 10, perplexityAfter: 12, evaluation: nil,
                                 layers: [PruneReport.Layer(name: "layers.0.mlp.up_proj", parameters: 100, zeros: 20)],
                                 shots: [], seconds: ["total": 1], peakRSSBytes: nil, artifacts: ["report.json"])
        let url = root.appendingPathComponent("report-fixture.json")
        try ShotCheckpoint.writeJSON(report, to: url)
        return (report, url)
    }

    /// A runner whose worker is `bash <script>`; the script sees `worker --job-dir DIR …` as `$@`,
    /// so `$3` is the job directory.
    func runner(_ body: String, configure: (inout ProcessPruneRunner) -> Void = { _ in }) throws -> (ProcessPruneRunner, Lines) {
        let script = root.appendingPathComponent("worker-\(UUID().uuidString).sh")
        try ("set -u\nDIR=\"$3\"\n" + body + "\n").write(to: script, atomically: true, encoding: .utf8)
        let lines = Lines()
        var r = ProcessPruneRunner(executable: URL(fileURLWithPath: "/bin/bash"), leadingArguments: [script.path], blasThreads: 2,
                                   memoryMargin: 1, memoryFloorBytes: 0, cancelGraceSeconds: 1, pollInterval: 0.02,
                                   memoryPollInterval: 0.05, echo: { lines.add($0) })
        configure(&r)
        return (r, lines)
    }

    func output(_ name: String = "job_test") -> URL { root.appendingPathComponent("jobs/\(name)/output") }

    func run(_ r: ProcessPruneRunner, estimate: Int? = nil, progress: Progresses = Progresses(),
             cancelled: @escaping @Sendable () -> Bool = { false }) throws -> PruneReport {
        try r.run(request, context: JobRunContext(jobID: "job_test", attempt: 1, memoryEstimateBytes: estimate),
                  outputDirectory: output(), progress: { progress.add($0) }, isCancelled: cancelled)
    }

    static let progressShot1 = #"{"kind":"progress","progress":{"phase":"curvature","shot":1,"shots":2,"layer":3,"layers":30,"fraction":0.1,"message":"curvature"}}"#
    static let progressShot2 = #"{"kind":"progress","progress":{"phase":"curvature","shot":2,"shots":2,"fraction":0.6,"message":"curvature"}}"#

    func testSucceedingWorker_ForwardsProgressAndLogsAndReturnsItsReport() throws {
        let (report, fixture) = try writeReportFixture()
        let (r, lines) = try runner("""
            echo "$@" > "$DIR/argv"
            cp "$DIR/request.json" "$DIR/request-seen"
            echo '\(Self.progressShot1)'
            echo '{"kind":"log","message":"resuming after shot 1 of 2"}'
            echo 'not json'
            cp '\(fixture.path)' "$DIR/report.json"
            echo '{"kind":"succeeded"}'
            """)
        let progress = Progresses()
        let got = try run(r, progress: progress)
        XCTAssertEqual(got, report)
        XCTAssertEqual(progress.all.map(\.message), ["curvature", "resuming after shot 1 of 2"])
        XCTAssertEqual(progress.all.map(\.shot), [1, 1])
        XCTAssertEqual(lines.all, ["surgeon job job_test: resuming after shot 1 of 2", "surgeon job job_test: worker: not json"])
        let written = try JSONDecoder().decode(PruneRequest.self, from: Data(contentsOf: output().appendingPathComponent("request-seen")))
        XCTAssertEqual(written, request, "the worker reads the request from request.json")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output().appendingPathComponent("request.json").path),
                       "removed once the worker exits: it holds server paths and would be an artifact")
        let argv = try String(contentsOf: output().appendingPathComponent("argv"), encoding: .utf8)
        XCTAssertEqual(argv, "worker --job-dir \(output().path) --parent-pid \(getpid()) --blas-threads 2\n")
    }

    func testWorkerReportingAnError_FailsWithItsMessage() throws {
        let (r, _) = try runner("""
            echo '\(Self.progressShot1)'
            echo '{"kind":"failed","message":"eval: 10 tokens, fewer than one window of 128 after offset 0"}'
            exit 1
            """)
        XCTAssertThrowsError(try run(r)) { error in
            XCTAssertFalse(error is any RetryableRunnerError)
            XCTAssertEqual("\(error)", "eval: 10 tokens, fewer than one window of 128 after offset 0")
        }
    }

    func testWorkerExitingWithoutAMessage_FailsWithStatusAndStderr() throws {
        let (r, lines) = try runner("""
            echo 'Error: Missing expected argument --job-dir' >&2
            exit 64
            """)
        XCTAssertThrowsError(try run(r)) { error in
            XCTAssertFalse(error is any RetryableRunnerError)
            XCTAssertEqual("\(error)", "worker process exited with status 64 without reporting an error; stderr: Error: Missing expected argument --job-dir")
        }
        XCTAssertEqual(lines.all, ["surgeon job job_test: worker stderr: Error: Missing expected argument --job-dir"])
    }

    /// Under a launcher (config `launcher`) the worker command follows the launcher's arguments, gets no
    /// `--parent-pid`, and a rank that died fails the job with the launcher's line naming the rank.
    func testLauncher_WrapsTheWorker_AndADeadRankFailsNamingIt() throws {
        let launcherScript = root.appendingPathComponent("launcher-\(UUID().uuidString).sh")
        try """
            echo "args: $*" > "$(dirname "$0")/launcher-args.txt"
            echo '--------------------------------------------------------------------------' >&2
            echo 'mpirun noticed that process rank 1 with PID 0 on node vm exited on signal 9 (Killed).' >&2
            exit 137
            """.write(to: launcherScript, atomically: true, encoding: .utf8)
        let (r, _) = try runner("exit 0") { $0.launcher = ["/bin/bash", launcherScript.path, "-np", "2"] }
        XCTAssertThrowsError(try run(r, estimate: 1)) { error in
            XCTAssertEqual("\(error)", "MPI job failed: mpirun noticed that process rank 1 with PID 0 on node vm exited on signal 9 (Killed).")
        }
        let args = try String(contentsOf: root.appendingPathComponent("launcher-args.txt"), encoding: .utf8)
        XCTAssertTrue(args.hasPrefix("args: -np 2 /bin/bash "), args)
        XCTAssertTrue(args.contains(" worker --job-dir "), args)
        XCTAssertFalse(args.contains("--parent-pid"), args)
    }

    func testWorkerKilledBySIGKILL_ThrowsARetryableErrorSayingWhereItDied() throws {
        let (r, _) = try runner("""
            echo '\(Self.progressShot2)'
            echo 'about to die' >&2
            kill -KILL $$
            """)
        XCTAssertThrowsError(try run(r)) { error in
            let killed = error as? WorkerKilled
            XCTAssertEqual(killed?.signal, SIGKILL)
            XCTAssertTrue(error is any RetryableRunnerError)
            XCTAssertEqual((error as? any CodedRunnerError)?.failureCode, "worker_crashed")
            XCTAssertEqual("\(error)", "worker process killed by signal 9 (SIGKILL) during shot 2 phase curvature; stderr: about to die")
        }
    }

    func testWorkerOverItsMemoryLimit_IsKilledWithItsChildrenAndSaysByHowMuch() throws {
        // 64 MiB estimate × 1 + 0: bash holding 200 MB in a variable is over the limit.
        let (r, _) = try runner("""
            echo '\(Self.progressShot1)'
            big=$(head -c 200000000 /dev/zero | tr '\\0' x)
            sleep 60
            """)
        let start = Date()
        XCTAssertThrowsError(try run(r, estimate: 64 << 20)) { error in
            guard let over = error as? WorkerMemoryLimitExceeded else { return XCTFail("\(error)") }
            XCTAssertFalse(error is any RetryableRunnerError)
            XCTAssertEqual(over.limitBytes, 64 << 20)
            XCTAssertGreaterThan(over.residentBytes, 64 << 20)
            XCTAssertEqual(over.failureCode, "worker_memory_limit")
            XCTAssertTrue("\(error)".hasPrefix("worker exceeded its memory limit of 0.06 GiB (RSS "), "\(error)")
            XCTAssertTrue("\(error)".hasSuffix(" GiB) during shot 1 phase curvature and was killed"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 30, "the worker's `sleep 60` was killed with it")
    }

    func testMemoryLimit_IsTheEstimateTimesTheMarginPlusTheFloor() {
        let r = ProcessPruneRunner(executable: URL(fileURLWithPath: "/bin/true"))
        XCTAssertEqual(r.memoryLimit(for: JobRunContext(jobID: "j", attempt: 1, memoryEstimateBytes: 4 << 30)), 5 << 30 + 512 << 20)
        XCTAssertNil(r.memoryLimit(for: JobRunContext(jobID: "j", attempt: 1, memoryEstimateBytes: nil)))
    }

    func testCancellation_SendsSIGTERMAndTheWorkerStops() throws {
        let (r, _) = try runner("""
            trap 'echo "{\\"kind\\":\\"cancelled\\",\\"signal\\":15}"; exit 3' TERM
            echo '\(Self.progressShot1)'
            while true; do sleep 0.05; done
            """)
        let progress = Progresses()
        XCTAssertThrowsError(try run(r, progress: progress, cancelled: { !progress.all.isEmpty })) { error in
            XCTAssertTrue(error is PruneCancelled, "\(error)")
        }
    }

    func testCancellation_OfAWorkerIgnoringSIGTERM_EndsWithSIGKILLAfterTheGrace() throws {
        let (r, _) = try runner("""
            trap '' TERM
            echo '\(Self.progressShot1)'
            while true; do sleep 0.05; done
            """)
        let progress = Progresses()
        let start = Date()
        XCTAssertThrowsError(try run(r, progress: progress, cancelled: { !progress.all.isEmpty })) { error in
            XCTAssertTrue(error is PruneCancelled, "\(error)")
        }
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 1, "SIGKILL only after the 1 s grace")
    }

    func testWorkerStoppedBySIGTERMFromOutside_IsRetryable() throws {
        let (r, _) = try runner("""
            trap 'echo "{\\"kind\\":\\"cancelled\\",\\"signal\\":15}"; exit 3' TERM
            echo '\(Self.progressShot2)'
            kill -TERM $$
            sleep 5
            """)
        XCTAssertThrowsError(try run(r)) { error in
            XCTAssertTrue(error is any RetryableRunnerError)
            XCTAssertEqual("\(error)", "worker process stopped by signal 15 (SIGTERM) from outside the service during shot 2 phase curvature")
        }
    }

    func testMissingExecutable_FailsNamingIt() throws {
        let r = ProcessPruneRunner(executable: URL(fileURLWithPath: "/nonexistent/surgeon"), echo: nil)
        XCTAssertThrowsError(try run(r)) { error in
            XCTAssertEqual("\(error)", "cannot start the worker process /nonexistent/surgeon: No such file or directory")
        }
    }

    /// Through the service: the worker of attempt 1 kills itself with SIGKILL in shot 2, the
    /// service keeps answering, the job is queued again as attempt 2, whose worker finds shot 1's
    /// checkpoint and succeeds.
    func testKilledWorker_JobIsRequeuedAndResumesWhileTheServiceKeepsServing() throws {
        let (_, fixture) = try writeReportFixture()
        let (r, _) = try runner("""
            if [ ! -e "$DIR/checkpoints/shot-1/checkpoint.json" ]; then
              echo '\(Self.progressShot1)'
              mkdir -p "$DIR/checkpoints/shot-1" && echo '{}' > "$DIR/checkpoints/shot-1/checkpoint.json"
              echo '\(Self.progressShot2)'
              kill -KILL $$
            fi
            echo '\(Self.progressShot2)'
            echo '{"kind":"log","message":"resuming after shot 1 of 2"}'
            cp '\(fixture.path)' "$DIR/report.json"
            echo '{"kind":"succeeded"}'
            """, configure: { $0.memoryFloorBytes = 1 << 30 })
        let h = try ServiceHarness(runner: r)
        h.seedInputs()
        let id = try h.submit()
        XCTAssertTrue(h.service.manager.waitUntilIdle(timeout: 30))
        XCTAssertEqual(h.send("GET", "/healthz").status, 200)
        let job = h.send("GET", "/v1/jobs/\(id)", auth: h.alice)
        XCTAssertEqual(job.status, 200)
        XCTAssertEqual(job.json["status"] as? String, "succeeded")
        XCTAssertEqual(job.json["attempt"] as? Int, 2)
        let statuses = try h.service.manager.events(of: id, after: 0).filter { $0.kind == .status }
        XCTAssertEqual(statuses.map(\.status), [.queued, .running, .queued, .running, .succeeded])
        XCTAssertEqual(statuses[2].message, "worker process killed by signal 9 (SIGKILL) during shot 2 phase curvature; retry 1 of 2: attempt 2 resumes after shot 1")
        XCTAssertTrue(try h.service.manager.events(of: id, after: 0).contains { $0.message == "resuming after shot 1 of 2" })
        // The service takes the next job as usual (its worker, too, is killed once, then succeeds).
        let next = try h.submit(#"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.3,"shots":1}"#)
        XCTAssertTrue(h.service.manager.waitUntilIdle(timeout: 30))
        XCTAssertEqual(h.send("GET", "/v1/jobs/\(next)", auth: h.alice).json["status"] as? String, "succeeded")
    }

    /// A worker killed on every attempt: after the two retries the job fails with the reason.
    func testWorkerKilledOnEveryAttempt_FailsAfterTheRetries() throws {
        let (r, _) = try runner("""
            echo '\(Self.progressShot1)'
            kill -KILL $$
            """, configure: { $0.memoryFloorBytes = 1 << 30 })
        let h = try ServiceHarness(runner: r)
        h.seedInputs()
        let id = try h.submit()
        XCTAssertTrue(h.service.manager.waitUntilIdle(timeout: 30))
        let job = h.send("GET", "/v1/jobs/\(id)", auth: h.alice)
        XCTAssertEqual(job.json["status"] as? String, "failed")
        XCTAssertEqual(job.json["attempt"] as? Int, 3)
        let error = job.json["error"] as? [String: Any]
        XCTAssertEqual(error?["code"] as? String, "worker_crashed")
        XCTAssertEqual(error?["message"] as? String, "worker process killed by signal 9 (SIGKILL) during shot 1 phase curvature (after 2 retries)")
    }

    /// The real worker on SmolLM2: cancelled (SIGTERM) in shot 2, then resumed in a second
    /// process, it gives the same model bytes as an uninterrupted in-process run.
    func testRealWorker_CancelledAndResumed_MatchesTheInProcessRun() throws {
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let model = package.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        let calibration = package.appendingPathComponent("../shared/data/wikitext2/valid.tokens").standardized.path
        guard FileManager.default.fileExists(atPath: model), FileManager.default.fileExists(atPath: calibration) else {
            throw XCTSkip("SmolLM2 or wikitext2 not installed; run scripts/setup.sh")
        }
        let binary = ProcessInfo.processInfo.environment["SURGEON_BINARY"].map(URL.init(fileURLWithPath:))
            ?? ProcessPruneRunner.currentExecutable().deletingLastPathComponent().appendingPathComponent("surgeon")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw XCTSkip("no surgeon binary at \(binary.path) (swift build --build-tests builds it; or set SURGEON_BINARY)")
        }
        let req = PruneRequest(model: model, structure: .structured, method: .llmSurgeon, sparsity: 0.1, shots: 2,
                               calibration: calibration, samples: 1, seqlen: 24, seed: 100)
        let inProcess = root.appendingPathComponent("jobs/job_inproc/output")
        _ = try RealPruneRunner(echo: nil).run(req, outputDirectory: inProcess, progress: { _ in }, isCancelled: { false })

        let lines = Lines()
        let worker = ProcessPruneRunner(executable: binary, echo: { lines.add($0) })
        let out = root.appendingPathComponent("jobs/job_worker/output")
        let context = JobRunContext(jobID: "job_worker", attempt: 1, memoryEstimateBytes: nil)
        let progress = Progresses()
        XCTAssertThrowsError(try worker.run(req, context: context, outputDirectory: out, progress: { progress.add($0) },
                                            isCancelled: { progress.all.contains { $0.shot == 2 } })) { error in
            XCTAssertTrue(error is PruneCancelled, "\(error)")
        }
        XCTAssertEqual(ShotCheckpoint.finishedShots(in: out).map(\.shot), [1])
        let report = try worker.run(req, context: context, outputDirectory: out, progress: { _ in }, isCancelled: { false })
        XCTAssertEqual(report.shots.map(\.shot), [1, 2])
        XCTAssertTrue(lines.all.contains("surgeon job job_worker: resuming after shot 1 of 2"), "\(lines.all)")
        let a = try Data(contentsOf: inProcess.appendingPathComponent("model.safetensors"))
        let b = try Data(contentsOf: out.appendingPathComponent("model.safetensors"))
        XCTAssertTrue(a == b, "the worker's resumed model differs from the in-process run's")
    }
}

/// Lines collected from another thread.
final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

/// Progress collected from the reader thread.
final class Progresses: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [PruneProgress] = []
    func add(_ p: PruneProgress) { lock.withLock { items.append(p) } }
    var all: [PruneProgress] { lock.withLock { items } }
}
