import Foundation

/// Every setting of `surgeon serve` (documented in `config/README.md`). Loaded from a JSON file
/// (snake_case keys, all optional), then `SURGEON_*` environment variables, then flags.
public struct ServiceConfig: Codable, Sendable, Equatable {
    /// A bearer token, stored as the hex SHA-256 of the token; `name` owns what the token creates.
    public struct Token: Codable, Sendable, Equatable {
        public var name: String
        public var sha256: String
        public init(name: String, sha256: String) { self.name = name; self.sha256 = sha256.lowercased() }
    }

    public var host = "127.0.0.1"
    public var port = 8080
    /// Jobs, models, texts and temporary uploads live here.
    public var dataDir = "./data"
    public var workers = 1
    /// OpenBLAS threads per worker (`nil`: cores / workers).
    public var blasThreads: Int?
    public var queueCapacity = 16
    /// Seconds suggested in `Retry-After` when the queue is full and on non-terminal job reads.
    public var retryAfterSeconds = 5
    public var maxUploadBytes = 20 << 30
    public var maxJSONBytes = 1 << 20
    /// Per-job memory limit checked against the estimate before queueing (`nil`: 80 % of RAM).
    public var maxJobMemoryBytes: Int?
    /// Bytes the plans of all running jobs may add up to; a queued job waits until it fits (`nil`: 80 % of RAM).
    public var memoryBudgetBytes: Int?
    /// Directories `POST /v1/models` and `POST /v1/texts` may register files from.
    public var allowedRoots: [String] = []
    /// Calibration text used when a job names none (a server path).
    public var defaultCalibration: String?
    public var tokens: [Token] = []
    /// A file with one `name:sha256hex` per line, appended to `tokens`.
    public var tokenFile: String?
    /// Seconds between `: keepalive` comments on SSE streams.
    public var sseKeepaliveSeconds = 15.0
    /// `real` (the pruning runner) or `simulated` (the fake runner, for demos and tests).
    public var runner = "real"
    /// With the real runner: run each job in its own `surgeon worker` process (`ProcessPruneRunner`);
    /// `false` runs jobs on the server's worker threads (`RealPruneRunner`).
    public var jobProcesses = true
    /// How often a job whose worker process was killed by a signal is resumed before it fails.
    public var jobCrashRetries = 2
    /// With job processes: the program and arguments each job's `surgeon worker` runs under, e.g.
    /// `["mpirun", "--hostfile", "/etc/surgeon/hosts", "-np", "4"]` (issue 13; empty: a local child).
    public var launcher: [String] = []

    public init() {}

    enum CodingKeys: String, CodingKey {
        case host, port, workers, tokens, runner
        case dataDir = "data_dir", blasThreads = "blas_threads", queueCapacity = "queue_capacity"
        case retryAfterSeconds = "retry_after_seconds", maxUploadBytes = "max_upload_bytes"
        case maxJSONBytes = "max_json_bytes", maxJobMemoryBytes = "max_job_memory_bytes", memoryBudgetBytes = "memory_budget_bytes"
        case allowedRoots = "allowed_roots", defaultCalibration = "default_calibration"
        case tokenFile = "token_file", sseKeepaliveSeconds = "sse_keepalive_seconds"
        case jobProcesses = "job_processes", jobCrashRetries = "job_crash_retries", launcher
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ServiceConfig.defaults
        host = try c.decodeIfPresent(String.self, forKey: .host) ?? d.host
        port = try c.decodeIfPresent(Int.self, forKey: .port) ?? d.port
        dataDir = try c.decodeIfPresent(String.self, forKey: .dataDir) ?? d.dataDir
        workers = try c.decodeIfPresent(Int.self, forKey: .workers) ?? d.workers
        blasThreads = try c.decodeIfPresent(Int.self, forKey: .blasThreads)
        queueCapacity = try c.decodeIfPresent(Int.self, forKey: .queueCapacity) ?? d.queueCapacity
        retryAfterSeconds = try c.decodeIfPresent(Int.self, forKey: .retryAfterSeconds) ?? d.retryAfterSeconds
        maxUploadBytes = try c.decodeIfPresent(Int.self, forKey: .maxUploadBytes) ?? d.maxUploadBytes
        maxJSONBytes = try c.decodeIfPresent(Int.self, forKey: .maxJSONBytes) ?? d.maxJSONBytes
        maxJobMemoryBytes = try c.decodeIfPresent(Int.self, forKey: .maxJobMemoryBytes)
        memoryBudgetBytes = try c.decodeIfPresent(Int.self, forKey: .memoryBudgetBytes)
        allowedRoots = try c.decodeIfPresent([String].self, forKey: .allowedRoots) ?? []
        defaultCalibration = try c.decodeIfPresent(String.self, forKey: .defaultCalibration)
        tokens = try c.decodeIfPresent([Token].self, forKey: .tokens) ?? []
        tokenFile = try c.decodeIfPresent(String.self, forKey: .tokenFile)
        sseKeepaliveSeconds = try c.decodeIfPresent(Double.self, forKey: .sseKeepaliveSeconds) ?? d.sseKeepaliveSeconds
        runner = try c.decodeIfPresent(String.self, forKey: .runner) ?? d.runner
        jobProcesses = try c.decodeIfPresent(Bool.self, forKey: .jobProcesses) ?? d.jobProcesses
        jobCrashRetries = try c.decodeIfPresent(Int.self, forKey: .jobCrashRetries) ?? d.jobCrashRetries
        launcher = try c.decodeIfPresent([String].self, forKey: .launcher) ?? []
        if let program = launcher.first, program.isEmpty {
            throw DecodingError.dataCorruptedError(forKey: .launcher, in: c, debugDescription: "launcher: the program (first element) is empty")
        }
    }

    static let defaults = ServiceConfig()

    /// Reads `path` (JSON), failing with the file name and the decoding problem.
    public static func load(path: String) throws -> ServiceConfig {
        guard let data = FileManager.default.contents(atPath: path) else { throw ConfigError.unreadable(path) }
        do { return try JSONDecoder().decode(ServiceConfig.self, from: data) } catch {
            throw ConfigError.invalid(path: path, message: "\(error)")
        }
    }

    /// Applies `SURGEON_HOST`, `SURGEON_PORT`, `SURGEON_DATA_DIR`, `SURGEON_WORKERS`,
    /// `SURGEON_BLAS_THREADS`, `SURGEON_QUEUE_CAPACITY`, `SURGEON_MAX_UPLOAD_BYTES`,
    /// `SURGEON_MAX_JOB_MEMORY_BYTES`, `SURGEON_ALLOWED_ROOTS` (colon-separated),
    /// `SURGEON_DEFAULT_CALIBRATION`, `SURGEON_TOKEN_FILE`, `SURGEON_TOKENS` (`name:sha256,…`),
    /// `SURGEON_SSE_KEEPALIVE_SECONDS`, `SURGEON_RUNNER`, `SURGEON_JOB_PROCESSES` (`true`/`false`),
    /// `SURGEON_JOB_CRASH_RETRIES`.
    public mutating func applyEnvironment(_ env: [String: String]) throws {
        func int(_ key: String) throws -> Int? {
            guard let v = env[key] else { return nil }
            guard let i = Int(v) else { throw ConfigError.invalid(path: key, message: "\(v) is not an integer") }
            return i
        }
        if let v = env["SURGEON_HOST"] { host = v }
        if let v = try int("SURGEON_PORT") { port = v }
        if let v = env["SURGEON_DATA_DIR"] { dataDir = v }
        if let v = try int("SURGEON_WORKERS") { workers = v }
        if let v = try int("SURGEON_BLAS_THREADS") { blasThreads = v }
        if let v = try int("SURGEON_QUEUE_CAPACITY") { queueCapacity = v }
        if let v = try int("SURGEON_MAX_UPLOAD_BYTES") { maxUploadBytes = v }
        if let v = try int("SURGEON_MAX_JOB_MEMORY_BYTES") { maxJobMemoryBytes = v }
        if let v = try int("SURGEON_MEMORY_BUDGET_BYTES") { memoryBudgetBytes = v }
        if let v = env["SURGEON_ALLOWED_ROOTS"] { allowedRoots = v.split(separator: ":").map(String.init) }
        if let v = env["SURGEON_DEFAULT_CALIBRATION"] { defaultCalibration = v }
        if let v = env["SURGEON_TOKEN_FILE"] { tokenFile = v }
        if let v = env["SURGEON_TOKENS"] { tokens += try Self.parseTokens(v.split(separator: ",").map(String.init), source: "SURGEON_TOKENS") }
        if let v = env["SURGEON_SSE_KEEPALIVE_SECONDS"] {
            guard let d = Double(v) else { throw ConfigError.invalid(path: "SURGEON_SSE_KEEPALIVE_SECONDS", message: "\(v) is not a number") }
            sseKeepaliveSeconds = d
        }
        if let v = env["SURGEON_RUNNER"] { runner = v }
        if let v = env["SURGEON_JOB_PROCESSES"] {
            switch v.lowercased() {
            case "true", "1", "yes": jobProcesses = true
            case "false", "0", "no": jobProcesses = false
            default: throw ConfigError.invalid(path: "SURGEON_JOB_PROCESSES", message: "\(v) is not true or false")
            }
        }
        if let v = try int("SURGEON_JOB_CRASH_RETRIES") { jobCrashRetries = v }
    }

    /// Checks ranges and names, failing with the setting and what is wrong.
    public func validate() throws {
        guard (0...65535).contains(port) else { throw ConfigError.invalid(path: "port", message: "\(port) is not a TCP port") }
        guard workers >= 1 else { throw ConfigError.invalid(path: "workers", message: "must be at least 1") }
        guard queueCapacity >= 1 else { throw ConfigError.invalid(path: "queue_capacity", message: "must be at least 1") }
        guard ["real", "simulated"].contains(runner) else { throw ConfigError.invalid(path: "runner", message: "must be real or simulated") }
        guard jobCrashRetries >= 0 else { throw ConfigError.invalid(path: "job_crash_retries", message: "must be 0 or more") }
        for t in tokens {
            guard NameRules.isValid(t.name) else { throw ConfigError.invalid(path: "tokens", message: "token name \(t.name) is not a valid name") }
            guard t.sha256.count == 64, t.sha256.allSatisfy(\.isHexDigit) else {
                throw ConfigError.invalid(path: "tokens", message: "token \(t.name): sha256 must be 64 hex digits")
            }
        }
    }

    /// `name:sha256hex` lines (blank lines and `#` comments skipped).
    public static func parseTokens(_ lines: [String], source: String) throws -> [Token] {
        try lines.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }.map { line in
            let parts = line.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ConfigError.invalid(path: source, message: "expected name:sha256, got \(line)") }
            return Token(name: parts[0], sha256: parts[1])
        }
    }

    /// `tokens` plus those of `tokenFile`.
    public func allTokens() throws -> [Token] {
        guard let tokenFile else { return tokens }
        guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else { throw ConfigError.unreadable(tokenFile) }
        return tokens + (try Self.parseTokens(text.components(separatedBy: .newlines), source: tokenFile))
    }
}

/// A configuration that cannot be used.
public enum ConfigError: Error, Equatable, CustomStringConvertible {
    case unreadable(String)
    case invalid(path: String, message: String)
    public var description: String {
        switch self {
        case .unreadable(let p): return "cannot read \(p)"
        case .invalid(let p, let m): return "\(p): \(m)"
        }
    }
}
