import ArgumentParser
import CProcess
import Cluster
import Foundation
import HTTP
import Pruning
import Service
import Tensor

/// `surgeon worker`: runs one service job in this process. `surgeon serve` starts it per job
/// (`ProcessPruneRunner`); it reads `<job-dir>/request.json`, runs `SurgeonRunner` into the job
/// directory (resuming after the last finished shot) and writes `WorkerMessage` JSON lines to
/// stdout. SIGTERM or SIGINT stops the run between layers (exit status 3); an error exits with 1.
/// Started by a configured `launcher` (`mpirun …`), every rank runs it: rank 0 alone writes the JSON lines and
/// the job's files, and a failure on any rank ends every rank (`MPI_Abort`) with the reason on stderr.
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
        let world: any Communicator
        do { world = try Cluster.world() } catch {
            out.send(WorkerMessage(kind: .failed, message: "MPI could not start: \(error)"))
            throw ExitCode(WorkerExitCode.failed)
        }
        defer { world.finalize() }
        out.silent = world.rank != 0

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
            let runner = SurgeonRunner(log: { line in out.send(WorkerMessage(kind: .log, message: line)) }, communicator: world)
            _ = try runner.run(request, outputDirectory: output,
                               progress: { p in out.send(WorkerMessage(kind: .progress, progress: p)) },
                               isCancelled: { stop.signal != nil })
            out.send(WorkerMessage(kind: .succeeded))
        } catch is PruneCancelled {
            out.send(WorkerMessage(kind: .cancelled, signal: stop.signal ?? SIGTERM))
            if world.size > 1 { world.abort(code: WorkerExitCode.cancelled) }
            throw ExitCode(WorkerExitCode.cancelled)
        } catch {
            out.send(WorkerMessage(kind: .failed, message: world.size > 1 ? "\(world.name): \(error)" : String(describing: error)))
            if world.size > 1 {
                FileHandle.standardError.write(Data("surgeon worker: \(world.name) failed: \(error)\n".utf8))
                world.abort(code: WorkerExitCode.failed)
            }
            throw ExitCode(WorkerExitCode.failed)
        }
    }
}

/// Writes whole `WorkerMessage` lines to stdout, one writer at a time.
private final class WorkerOutput: @unchecked Sendable {
    private let lock = NSLock()
    /// Ranks other than 0 write no lines (their stdout is merged into rank 0's by the launcher).
    var silent = false

    func send(_ message: WorkerMessage) {
        guard !silent, let line = try? message.line() else { return }
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
