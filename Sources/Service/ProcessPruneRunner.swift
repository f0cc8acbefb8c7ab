import Foundation
import Jobs
import Pruning

/// The runner `surgeon serve` uses by default (`job_processes`): each job runs in a child process,
/// `surgeon worker --job-dir <output>`, so a job that runs out of memory or crashes takes only
/// itself down, and each job has its own OpenBLAS thread pool.
///
/// Per run it writes `request.json` into the output directory (removed when the worker exits: it holds
/// server paths, and the output directory is the job's artifacts), starts the worker (its own process
/// group; the worker asks for SIGKILL when the server dies), turns its stdout JSON lines
/// (`WorkerMessage`) into `progress` calls and log lines (`surgeon job <id>: …` on stderr, as
/// `RealPruneRunner` does) and supervises it every `pollInterval` seconds:
/// - `isCancelled()` turning true sends SIGTERM (the worker stops between layers), and SIGKILL
///   after `cancelGraceSeconds`; either way the run throws `PruneCancelled`;
/// - every `memoryPollInterval` seconds the worker's VmRSS is compared with `memoryLimit(for:)`;
///   over it, the worker is killed and the run throws `WorkerMemoryLimitExceeded`.
///
/// On exit: status 0 → the `report.json` it wrote; a `failed` line → `WorkerFailed` with the
/// worker's message; killed by a signal the service did not send → `WorkerKilled`, which
/// `JobManager` retries from the last finished shot.
public struct ProcessPruneRunner: JobContextPruneRunner {
    /// The program started per job (`surgeon`); tests put a shell or a script here.
    public var executable: URL
    /// Arguments before `worker --job-dir …` (tests: the script to run).
    public var leadingArguments: [String]
    /// `--blas-threads` for the worker (`nil`: the worker keeps OpenBLAS's default).
    public var blasThreads: Int?
    /// The memory limit is `memoryMargin ×` the job's estimate `+ memoryFloorBytes`.
    public var memoryMargin: Double
    public var memoryFloorBytes: Int
    /// Seconds between SIGTERM and SIGKILL when a job is cancelled or the service stops.
    public var cancelGraceSeconds: Double
    /// Seconds between checks of exit and cancellation, and between reads of the worker's RSS.
    public var pollInterval: Double
    public var memoryPollInterval: Double
    /// Where log lines go (stderr by default; `nil`: nowhere).
    public var echo: (@Sendable (String) -> Void)?
    /// A launcher the worker runs under (config `launcher`, e.g. `["mpirun", "--hostfile", "/etc/surgeon/hosts",
    /// "-np", "4"]`; empty: the worker is the server's own child). Under a launcher the ranks are its children, so
    /// the worker gets no `--parent-pid`, and no memory limit is applied (the ranks may be on other hosts); a
    /// rank that dies ends the launcher, and the job fails with the launcher's line naming the rank.
    public var launcher: [String] = []

    public init(executable: URL = ProcessPruneRunner.currentExecutable(), leadingArguments: [String] = [],
                blasThreads: Int? = nil, memoryMargin: Double = 1.25, memoryFloorBytes: Int = 512 << 20,
                cancelGraceSeconds: Double = 15, pollInterval: Double = 0.1, memoryPollInterval: Double = 0.5,
                echo: (@Sendable (String) -> Void)? = { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }) {
        self.executable = executable; self.leadingArguments = leadingArguments; self.blasThreads = blasThreads
        self.memoryMargin = memoryMargin; self.memoryFloorBytes = memoryFloorBytes
        self.cancelGraceSeconds = cancelGraceSeconds; self.pollInterval = pollInterval
        self.memoryPollInterval = memoryPollInterval; self.echo = echo
    }

    /// The running program (`/proc/self/exe`, else `Bundle.main`, else `argv[0]`).
    public static func currentExecutable() -> URL {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: path)
        }
        if let url = Bundle.main.executableURL { return url }
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    }

    /// The RSS a job's worker may reach: `memoryMargin × estimate + memoryFloorBytes`; `nil` (no
    /// limit) for a job without an estimate.
    public func memoryLimit(for context: JobRunContext) -> Int? {
        context.memoryEstimateBytes.map { Int(Double($0) * memoryMargin) + memoryFloorBytes }
    }

    /// Runs without a job context: the job id is taken from the directory (`jobs/<id>/output`)
    /// and there is no memory limit.
    public func run(_ request: PruneRequest, outputDirectory: URL, progress: @escaping @Sendable (PruneProgress) -> Void,
                    isCancelled: @escaping @Sendable () -> Bool) throws -> PruneReport {
        let id = outputDirectory.deletingLastPathComponent().lastPathComponent
        return try run(request, context: JobRunContext(jobID: id, attempt: 1, memoryEstimateBytes: nil),
                       outputDirectory: outputDirectory, progress: progress, isCancelled: isCancelled)
    }

    public func run(_ request: PruneRequest, context: JobRunContext, outputDirectory: URL,
                    progress: @escaping @Sendable (PruneProgress) -> Void,
                    isCancelled: @escaping @Sendable () -> Bool) throws -> PruneReport {
        try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
        try ShotCheckpoint.writeJSON(request, to: outputDirectory.appendingPathComponent("request.json"))
        let session = WorkerSession(jobID: context.jobID, echo: echo, progress: progress)
        var arguments = leadingArguments + ["worker", "--job-dir", outputDirectory.path]
        if launcher.isEmpty { arguments += ["--parent-pid", String(getpid())] }
        if let blasThreads { arguments += ["--blas-threads", String(blasThreads)] }
        let program = launcher.first ?? executable.path
        if !launcher.isEmpty { arguments = Array(launcher.dropFirst()) + [executable.path] + arguments }
        let child = try ChildProcess(executable: program, arguments: arguments,
                                     stdout: { session.stdoutLine($0) }, stderr: { session.stderrLine($0) })

        let limit = launcher.isEmpty ? memoryLimit(for: context) : nil
        var cancelSentAt: Double?
        var overLimit: (limit: Int, resident: Int)?
        var lastMemoryCheck = -Double.infinity
        while !child.hasExited() {
            let now = ProcessInfo.processInfo.systemUptime
            if overLimit == nil {
                if cancelSentAt == nil, isCancelled() {
                    child.signal(SIGTERM)
                    cancelSentAt = now
                } else if let sent = cancelSentAt, now - sent >= cancelGraceSeconds {
                    child.signal(SIGKILL)
                }
            }
            if let limit, overLimit == nil, now - lastMemoryCheck >= memoryPollInterval {
                lastMemoryCheck = now
                if let resident = child.residentBytes(), resident > limit {
                    child.signal(SIGKILL)
                    overLimit = (limit, resident)
                }
            }
            Thread.sleep(forTimeInterval: pollInterval)
        }
        let termination = child.reap()
        // request.json holds server paths and would otherwise be listed as an artifact; every run writes it anew.
        try? FileManager.default.removeItem(at: outputDirectory.appendingPathComponent("request.json"))
        return try outcome(termination, session: session, output: outputDirectory,
                           cancelRequested: cancelSentAt != nil, overLimit: overLimit)
    }

    /// What the run returns or throws once the worker has exited.
    private func outcome(_ termination: ChildProcess.Termination, session: WorkerSession, output: URL,
                         cancelRequested: Bool, overLimit: (limit: Int, resident: Int)?) throws -> PruneReport {
        let (final, position, tail) = session.summary()
        if let overLimit {
            throw WorkerMemoryLimitExceeded(limitBytes: overLimit.limit, residentBytes: overLimit.resident, position: position, stderrTail: tail)
        }
        switch termination {
        case .exited(WorkerExitCode.succeeded):
            let path = output.appendingPathComponent("report.json")
            do {
                return try JSONDecoder().decode(PruneReport.self, from: Data(contentsOf: path))
            } catch {
                throw WorkerFailed(message: "worker process exited with status 0 but \(path.path) is not a readable report: \(error)",
                                   termination: termination.description, stderrTail: tail)
            }
        case .exited(WorkerExitCode.cancelled) where cancelRequested:
            throw PruneCancelled()
        case .exited(WorkerExitCode.cancelled) where final?.kind == .cancelled:
            throw WorkerKilled(signal: final?.signal ?? SIGTERM, position: position, stoppedOnSignal: true, stderrTail: tail)
        case .signaled where cancelRequested:
            throw PruneCancelled()
        case .signaled(let sig):
            throw WorkerKilled(signal: sig, position: position, stoppedOnSignal: false, stderrTail: tail)
        case .exited:
            throw WorkerFailed(message: final?.kind == .failed ? final?.message : Self.rankFailure(tail),
                               termination: termination.description, stderrTail: tail)
        }
    }
}

extension ProcessPruneRunner {
    /// The launcher's line about a rank that died (Open MPI: `mpirun noticed that process rank 1 with PID … exited
    /// on signal 9 (Killed).`), or a rank's own failure line, from stderr's tail; `nil` when there is none.
    static func rankFailure(_ tail: [String]) -> String? {
        let line = tail.last { $0.contains("noticed that process rank") }
            ?? tail.last { $0.contains("rank") && ($0.contains("failed:") || $0.contains("exited on signal")) }
        return line.map { "MPI job failed: " + $0.trimmingCharacters(in: .whitespaces) }
    }
}

/// What the reader threads learn from one worker: the last progress, the final line, stderr's
/// tail; they also forward progress and log lines as they come.
private final class WorkerSession: @unchecked Sendable {
    private let lock = NSLock()
    private let jobID: String
    private let echo: (@Sendable (String) -> Void)?
    private let progress: @Sendable (PruneProgress) -> Void
    private var last: PruneProgress?
    private var final: WorkerMessage?
    private var tail: [String] = []

    init(jobID: String, echo: (@Sendable (String) -> Void)?, progress: @escaping @Sendable (PruneProgress) -> Void) {
        self.jobID = jobID; self.echo = echo; self.progress = progress
    }

    func stdoutLine(_ bytes: [UInt8]) {
        guard let message = WorkerMessage.parse(bytes) else {
            echo?("surgeon job \(jobID): worker: \(String(decoding: bytes, as: UTF8.self))")
            return
        }
        switch message.kind {
        case .progress:
            guard let p = message.progress else { return }
            lock.withLock { last = p }
            progress(p)
        case .log:
            let line = message.message ?? ""
            echo?("surgeon job \(jobID): \(line)")
            if var p = lock.withLock({ last }) {
                p.message = line
                progress(p)
            }
        case .succeeded, .cancelled, .failed:
            lock.withLock { final = message }
        }
    }

    func stderrLine(_ bytes: [UInt8]) {
        let line = String(decoding: bytes.prefix(1000), as: UTF8.self)
        echo?("surgeon job \(jobID): worker stderr: \(line)")
        lock.withLock {
            tail.append(line)
            if tail.count > 10 { tail.removeFirst(tail.count - 10) }
        }
    }

    /// The final line, where the run was (`during shot 2 phase curvature`) and stderr's tail.
    func summary() -> (WorkerMessage?, String, [String]) {
        lock.withLock {
            let position: String
            switch last {
            case nil: position = "before its first progress report"
            case let p? where p.shot > 0: position = "during shot \(p.shot) phase \(p.phase)"
            case let p?: position = "during phase \(p.phase)"
            }
            return (final, position, tail)
        }
    }
}
