import ArgumentParser
import CProcess
import Foundation
import HTTP
import Pruning
import Service
import Tensor

/// `surgeon worker`: runs one service job in this process. `surgeon serve` starts it per job
/// (`ProcessPruneRunner`); it reads `<job-dir>/request.json`, runs `SurgeonRunner` into the job
/// directory (resuming after the last finished shot) and writes `WorkerMessage` JSON lines to
/// stdout. SIGTERM or SIGINT stops the run between layers (exit status 3); an error exits with 1.
struct Worker: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one service job (started by `surgeon serve`; JSON lines on stdout).")

    @Option(name: .customLong("job-dir"), help: "The job's output directory, holding request.json.") var jobDir: String
    @Option(name: .customLong("blas-threads"), help: "OpenBLAS threads (default: OpenBLAS's own).") var blasThreads: Int?
    @Option(name: .customLong("parent-pid"), help: "The server's pid: the worker gets SIGKILL when it dies, and exits at once if it is already gone.")
    var parentPID: Int32?

    func run() throws {
        let out = WorkerOutput()
        if let parentPID {
            // The kernel kills this worker when the server's job thread ends (a kill -9 of the
            // server included); a server that died before this line has already reparented us.
            guard surgeon_set_parent_death_signal(SIGKILL) == 0 else {
                out.send(WorkerMessage(kind: .failed, message: "prctl(PR_SET_PDEATHSIG): \(String(cString: strerror(errno)))"))
                throw ExitCode(WorkerExitCode.failed)
            }
            guard getppid() == parentPID else {
                out.send(WorkerMessage(kind: .failed, message: "the server (pid \(parentPID)) exited before the worker started"))
                throw ExitCode(WorkerExitCode.failed)
            }
        }
        if let blasThreads { setBLASThreads(blasThreads) }

        let stop = StopSignal()
        let trap = SignalTrap.install([SIGTERM, SIGINT]) { sig in stop.raise(sig) }
        defer { withExtendedLifetime(trap) {} }

        let output = URL(fileURLWithPath: jobDir, isDirectory: true)
        do {
            let path = output.appendingPathComponent("request.json")
            guard let data = FileManager.default.contents(atPath: path.path) else {
                throw ValidationError("--job-dir \(jobDir): no request.json there")
            }
            let request = try JSONDecoder().decode(PruneRequest.self, from: data)
            let runner = SurgeonRunner(log: { line in out.send(WorkerMessage(kind: .log, message: line)) })
            _ = try runner.run(request, outputDirectory: output,
                               progress: { p in out.send(WorkerMessage(kind: .progress, progress: p)) },
                               isCancelled: { stop.signal != nil })
            out.send(WorkerMessage(kind: .succeeded))
        } catch is PruneCancelled {
            out.send(WorkerMessage(kind: .cancelled, signal: stop.signal ?? SIGTERM))
            throw ExitCode(WorkerExitCode.cancelled)
        } catch {
            out.send(WorkerMessage(kind: .failed, message: String(describing: error)))
            throw ExitCode(WorkerExitCode.failed)
        }
    }
}

/// Writes whole `WorkerMessage` lines to stdout, one writer at a time.
private final class WorkerOutput: @unchecked Sendable {
    private let lock = NSLock()

    func send(_ message: WorkerMessage) {
        guard let line = try? message.line() else { return }
        lock.withLock { try? FileHandle.standardOutput.write(contentsOf: line) }
    }
}

/// The first stop signal received, read by the runner's `isCancelled`.
private final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var received: Int32?

    func raise(_ sig: Int32) { lock.withLock { if received == nil { received = sig } } }
    var signal: Int32? { lock.withLock { received } }
}
