import Foundation
import Pruning

/// The I/O shell around `JobState`: owns the store, the bounded queue and the worker threads, feeds
/// events into each job's state machine and executes the actions it returns.
///
/// Wiring: `JobManager(store:runner:)` takes the `PruneRunner` that workers call; `start()` rescans
/// the store (running → queued with attempt + 1, resumed after the last finished shot) and starts
/// the workers.
public final class JobManager: @unchecked Sendable {
    /// Knobs of the manager.
    public struct Options: Sendable {
        /// Worker threads, each running one job at a time.
        public var workers: Int
        /// Queued jobs accepted before `submit` refuses with `JobQueueFull`.
        public var queueCapacity: Int
        /// How often a job whose worker process was killed (`RetryableRunnerError`) is queued again
        /// to resume after its last finished shot before it fails.
        public var crashRetries: Int
        /// Bytes all running jobs may plan together (`nil`: no memory admission). A worker starts the job at the
        /// head of the queue only when its plan (`JobSpec.memoryEstimateBytes`) fits beside the plans of the jobs
        /// already running; a job alone always starts (its own plan was checked at submit).
        public var memoryBudget: Int?
        /// How server paths in what clients see (job errors, event messages, progress, the report's evaluation)
        /// are named (`ClientText`); each job adds its own inputs and directories.
        public var clientText: ClientText
        public init(workers: Int = 1, queueCapacity: Int = 16, crashRetries: Int = 2, memoryBudget: Int? = nil,
                    clientText: ClientText = ClientText()) {
            self.workers = max(1, workers); self.queueCapacity = max(1, queueCapacity)
            self.crashRetries = max(0, crashRetries); self.memoryBudget = memoryBudget
            self.clientText = clientText
        }
    }

    public let store: JobStore
    public let runner: PruneRunner
    public let clock: WallClock
    public let options: Options
    /// Each job's recent events and followers (SSE streams wait there, never on `cond`).
    public let eventHub: JobEventHub

    let cond = NSCondition()
    var queue: JobQueue
    var cancelFlags: Set<String> = []
    var liveProgress: [String: PruneProgress] = [:]
    var busyWorkers = 0
    /// Planned bytes of each running job (memory admission).
    var runningPlans: [String: Int] = [:]
    var stopping = false
    var started = false
    var threads: [Thread] = []
    var runningThreads = 0
    private var idCounter: UInt32 = 0

    public init(store: JobStore, runner: PruneRunner, clock: WallClock = SystemClock(), options: Options = Options()) {
        self.store = store; self.runner = runner; self.clock = clock; self.options = options
        self.queue = JobQueue(capacity: options.queueCapacity)
        self.eventHub = JobEventHub(store: store)
    }

    // MARK: Reading

    /// The job with `id` (with live progress), or `nil`.
    public func job(_ id: String) throws -> Job? {
        cond.lock(); defer { cond.unlock() }
        return try loadLive(id)
    }

    /// A page of `owner`'s jobs, newest first, strictly after the job id `after`.
    public func list(owner: String, limit: Int, after: String?) throws -> (jobs: [Job], hasMore: Bool) {
        cond.lock(); defer { cond.unlock() }
        var all = try store.loadAll().filter { $0.spec.owner == owner }.sorted { $0.id > $1.id }
        if let after { all = all.filter { $0.id < after } }
        let page = all.prefix(max(0, limit)).map { j -> Job in
            var j = j
            if let p = liveProgress[j.id] { j.progress = p }
            return j
        }
        return (Array(page), all.count > page.count)
    }

    /// Events of `id` after sequence `after` (from `eventHub`, without the manager's lock).
    public func events(of id: String, after: Int) throws -> [JobEvent] {
        try eventHub.events(of: id, after: after)
    }

    /// Follows the events of `id` (an SSE stream): see `JobEventHub.Subscription`.
    public func subscribe(to id: String) -> JobEventHub.Subscription {
        eventHub.subscribe(id)
    }

    /// The runner's directory of job `id`.
    public func outputDirectory(of id: String) throws -> URL {
        cond.lock(); defer { cond.unlock() }
        return try store.outputDirectory(of: id)
    }

    /// Counts for `/metrics`.
    public func statistics() throws -> (byStatus: [JobStatus: Int], queueDepth: Int, busyWorkers: Int, workers: Int) {
        cond.lock(); defer { cond.unlock() }
        var counts: [JobStatus: Int] = [:]
        for j in try store.loadAll() { counts[j.status, default: 0] += 1 }
        return (counts, queue.count, busyWorkers, options.workers)
    }

    /// `true` between `start()` and `stop()`.
    public var isRunning: Bool {
        cond.lock(); defer { cond.unlock() }
        return started && !stopping
    }

    /// Position of a queued job in the queue (1 = next).
    public func queuePosition(of id: String) -> Int? {
        cond.lock(); defer { cond.unlock() }
        return queue.position(of: id)
    }

    // MARK: Commands

    /// Submits a job. With an idempotency key already used by `spec.owner`, returns the first job
    /// (`created == false`) when the request is the same and throws `.idempotencyMismatch` otherwise.
    /// `pinInputs`, when given, is called with the new job's inputs directory (`JobStore.inputsDirectory`)
    /// and returns the spec to store (its inputs pinned there); if it throws, nothing of the job is kept.
    public func submit(_ spec: JobSpec, pinInputs: ((URL) throws -> JobSpec)? = nil) throws -> (job: Job, created: Bool) {
        cond.lock(); defer { cond.unlock() }
        store.flush()
        if let key = spec.idempotencyKey,
           let first = try store.loadAll().first(where: { $0.spec.owner == spec.owner && $0.spec.idempotencyKey == key }) {
            guard first.spec.request == spec.request else { throw JobManagerError.idempotencyMismatch(jobID: first.id) }
            return (try loadLive(first.id) ?? first, false)
        }
        if queue.isFull { throw JobQueueFull(capacity: queue.capacity) }
        let now = clock.now()
        let id = makeID(now)
        var spec = spec
        do {
            if let pinInputs { spec = try pinInputs(try store.inputsDirectory(of: id)) }
            try store.create(Job(id: id, spec: spec, createdAt: now))
        } catch {
            try? store.delete(id)
            throw error
        }
        let job = Job(id: id, spec: spec, createdAt: now)
        do {
            try append(JobEvent(time: now, kind: .status, status: .queued, attempt: 1, message: "queued"), to: job.id)
        } catch {
            log("job \(id): the queued event waits in memory: \(error)")
        }
        try queue.enqueue(job.id)
        cond.broadcast()
        return (job, true)
    }

    /// Asks job `id` to stop. Queued jobs become `cancelled` at once; running ones `cancelling`
    /// until the runner sees the flag. Throws `JobTransitionError` for a terminal job.
    @discardableResult
    public func cancel(_ id: String) throws -> Job {
        cond.lock(); defer { cond.unlock() }
        guard var job = try loadLive(id) else { throw JobStoreError.notFound(id) }
        let action = try job.state.handle(.cancel)
        // The store keeps the new state in memory when the disk refuses it (and writes it on a later flush),
        // so the cancel stands either way.
        switch action {
        case .dequeue:
            queue.remove(id)
            cond.broadcast()   // the queue changed: a worker waiting for the head's memory, `waitUntilIdle`
            record { try finish(&job, message: "cancelled before it started") }
        case .signalCancel:
            cancelFlags.insert(id)
            record { try persistStatus(&job, message: "cancellation requested") }
        default:
            break
        }
        return job
    }

    /// Deletes a terminal job and its files; throws `.notTerminal` otherwise.
    public func delete(_ id: String) throws {
        cond.lock(); defer { cond.unlock() }
        guard let job = try store.load(id) else { throw JobStoreError.notFound(id) }
        guard job.status.isTerminal else { throw JobManagerError.notTerminal(job.status) }
        try store.delete(id)
        liveProgress[id] = nil
        eventHub.remove(id)
    }

    // MARK: Helpers (call with the lock held)

    func loadLive(_ id: String) throws -> Job? {
        guard var job = try store.load(id) else { return nil }
        if let p = liveProgress[id], !job.status.isTerminal { job.progress = p }
        return job
    }

    /// Saves `job` and appends its status event. Both stay in the store's memory when the disk refuses
    /// them; the first error is rethrown for the caller to act on.
    func persistStatus(_ job: inout Job, message: String) throws {
        job.updatedAt = clock.now()
        var failure: Error?
        do { try store.save(job) } catch { failure = error }
        do { try appendStatus(job, message: message) } catch { failure = failure ?? error }
        if let failure { throw failure }
    }

    /// Appends the status event of `job`.
    func appendStatus(_ job: Job, message: String) throws {
        try append(JobEvent(time: job.updatedAt, kind: .status, status: job.status, attempt: job.state.attempt,
                            shot: job.state.finishedShots, message: message), to: job.id)
    }

    /// Appends `event` to the store and publishes it to the job's followers (only they wake). When the append
    /// fails after numbering the event (it waits in the store's memory), the followers read the store again.
    func append(_ event: JobEvent, to id: String) throws {
        do {
            eventHub.publish(try store.append(event, to: id), of: id)
        } catch {
            eventHub.resync(id)
            throw error
        }
    }

    /// Runs a persisting step whose decision already stands in memory; a disk error is logged (the store
    /// writes the state on a later flush).
    func record(_ body: () throws -> Void) {
        do { try body() } catch { log("\(error) (kept in memory; written when the disk has room)") }
    }

    func log(_ line: String) {
        FileHandle.standardError.write(Data("surgeon jobs: \(line)\n".utf8))
    }

    func finish(_ job: inout Job, message: String) throws {
        job.finishedAt = clock.now()
        cancelFlags.remove(job.id)
        if let p = liveProgress.removeValue(forKey: job.id) { job.progress = p }
        try persistStatus(&job, message: message)
    }

    /// `job_` + creation time in ms (hex) + a counter + random bits: ids sort by creation.
    private func makeID(_ now: Date) -> String {
        idCounter &+= 1
        let ms = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        let hex = String(ms, radix: 16)
        let counter = String(idCounter & 0xFFFF, radix: 16)
        let rand = String(UInt32.random(in: 0..<(1 << 24)), radix: 16)
        return "job_" + String(repeating: "0", count: max(0, 12 - hex.count)) + hex
            + String(repeating: "0", count: 4 - counter.count) + counter
            + String(repeating: "0", count: 6 - rand.count) + rand
    }
}

/// Refusals of `JobManager` beyond the lifecycle's own `JobTransitionError`.
public enum JobManagerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The idempotency key was used before with a different request.
    case idempotencyMismatch(jobID: String)
    /// Only terminal jobs can be deleted.
    case notTerminal(JobStatus)

    public var description: String {
        switch self {
        case .idempotencyMismatch(let id): return "the Idempotency-Key was first used for job \(id) with a different request"
        case .notTerminal(let s): return "the job is \(s.rawValue); cancel it and wait until it is terminal"
        }
    }
}
