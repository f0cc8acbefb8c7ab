import ArgumentParser
import Foundation
import HTTP
import Jobs
import Pruning
import Service
import Tensor

/// `surgeon serve`: the HTTP API over a job queue of prunes.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the pruning API over HTTP (see openapi.yaml and config/README.md).")

    @Option(name: .long, help: "JSON config file (config/surgeon.json). Env SURGEON_* and flags override it.")
    var config: String?
    @Option(name: .long, help: "Listen address.") var host: String?
    @Option(name: .long, help: "Listen port (0: any free port).") var port: Int?
    @Option(name: .customLong("data-dir"), help: "Directory for jobs, models, texts and uploads.") var dataDir: String?
    @Option(name: .long, help: "Worker threads running jobs.") var workers: Int?
    @Option(name: .customLong("blas-threads"), help: "OpenBLAS threads per worker (default: cores / workers).") var blasThreads: Int?
    @Option(name: .customLong("queue-capacity"), help: "Queued jobs before POST /v1/jobs answers 429.") var queueCapacity: Int?
    @Option(name: .customLong("allowed-root"), help: "Directory files may be registered from (repeatable).") var allowedRoots: [String] = []
    @Option(name: .customLong("default-calibration"), help: "Calibration text for jobs that name none.") var defaultCalibration: String?
    @Option(name: .customLong("token-file"), help: "File of name:sha256 token lines.") var tokenFile: String?
    @Option(name: .long, help: "Job runner: real or simulated.") var runner: String?
    @Option(name: .customLong("job-processes"), help: "Real runner: run each job in its own worker process (true, default) or on a server thread (false).")
    var jobProcesses: Bool?
    @Option(name: .customLong("job-crash-retries"), help: "Resumes of a job whose worker process was killed, before it fails.") var jobCrashRetries: Int?
    @Option(name: .customLong("sse-keepalive"), help: "Seconds between SSE keepalive comments.") var sseKeepalive: Double?
    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain (HTTPS).") var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "PEM private key (HTTPS).") var tlsKey: String?

    func run() throws {
        var cfg = try config.map(ServiceConfig.load(path:)) ?? ServiceConfig()
        try cfg.applyEnvironment(ProcessInfo.processInfo.environment)
        if let host { cfg.host = host }
        if let port { cfg.port = port }
        if let dataDir { cfg.dataDir = dataDir }
        if let workers { cfg.workers = workers }
        if let blasThreads { cfg.blasThreads = blasThreads }
        if let queueCapacity { cfg.queueCapacity = queueCapacity }
        if !allowedRoots.isEmpty { cfg.allowedRoots = allowedRoots }
        if let defaultCalibration { cfg.defaultCalibration = defaultCalibration }
        if let tokenFile { cfg.tokenFile = tokenFile }
        if let runner { cfg.runner = runner }
        if let jobProcesses { cfg.jobProcesses = jobProcesses }
        if let jobCrashRetries { cfg.jobCrashRetries = jobCrashRetries }
        if let sseKeepalive { cfg.sseKeepaliveSeconds = sseKeepalive }
        do { try cfg.validate() } catch { throw ValidationError("configuration: \(error)") }

        let cores = ProcessInfo.processInfo.activeProcessorCount
        let blasThreads = cfg.blasThreads ?? max(1, cores / cfg.workers)
        setBLASThreads(blasThreads)
        try FileManager.default.createDirectory(atPath: cfg.dataDir, withIntermediateDirectories: true)
        var tokens = try cfg.allTokens()
        if tokens.isEmpty { tokens = [try Self.devToken(dataDir: cfg.dataDir)] }
        cfg.tokens = tokens
        cfg.tokenFile = nil

        let service = try SurgeonService.make(config: cfg, runner: try Self.makeRunner(cfg, blasThreads: blasThreads))
        try service.manager.start()

        var http = HTTPServerConfiguration(host: cfg.host, port: cfg.port)
        if let tlsCert, let tlsKey { http.tls = .init(certificatePath: tlsCert, privateKeyPath: tlsKey) }
        http.bodyLimit = { [service] head in service.bodyLimit(for: head) }
        http.accessLog = { entry in FileHandle.standardError.write(Data((entry.line + "\n").utf8)) }
        let server = HTTPServer(configuration: http, handler: service)
        try server.start()
        Self.say("surgeon: serving on \(tlsCert == nil ? "http" : "https")://\(cfg.host):\(server.port) (data \(cfg.dataDir), \(cfg.workers) worker(s), runner \(cfg.runner)\(cfg.runner == "real" && cfg.jobProcesses ? " in worker processes" : ""))")
        let trap = SignalTrap.install { _ in
            FileHandle.standardError.write(Data("surgeon: stopping\n".utf8))
            server.stop(gracePeriod: 10)
            service.manager.stop()
        }
        server.waitUntilStopped()
        service.manager.stop()
        withExtendedLifetime(trap) {}
    }

    /// The runner jobs use: `real` (`SurgeonRunner`, log lines → job events), in a `surgeon worker`
    /// process per job (`ProcessPruneRunner`, with `blasThreads` OpenBLAS threads) unless
    /// `job_processes` is false (`RealPruneRunner`, on the server's threads), or `simulated` (the
    /// fake runner, in-process: progress, checkpoints, report; no model work; for tests and demos).
    static func makeRunner(_ cfg: ServiceConfig, blasThreads: Int) throws -> any PruneRunner {
        switch cfg.runner {
        case "simulated":
            return SimulatedPruneRunner(layers: 30, secondsPerLayer: 0.02, modelBytes: 4 << 20)
        case "real" where cfg.jobProcesses:
            var runner = ProcessPruneRunner(executable: ProcessPruneRunner.currentExecutable(), blasThreads: blasThreads)
            runner.launcher = cfg.launcher
            return runner
        case "real":
            return RealPruneRunner()
        default:
            throw ValidationError("runner: must be real or simulated, got \(cfg.runner)")
        }
    }

    /// With no token configured: a development token kept in `<data>/dev-token` (mode 0600),
    /// created once and printed at every start.
    static func devToken(dataDir: String) throws -> ServiceConfig.Token {
        let path = (dataDir as NSString).appendingPathComponent("dev-token")
        var token = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if token.isEmpty {
            token = "dev-" + (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            _ = FileManager.default.createFile(atPath: path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600])
        }
        say("surgeon: no tokens configured; development token (owner \"dev\", from \(path)):\n  Authorization: Bearer \(token)")
        return ServiceConfig.Token(name: "dev", sha256: SHA256.hex(of: Array(token.utf8)))
    }

    /// Prints a line to stdout unbuffered (scripts wait for it).
    static func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
}
