import Foundation

/// Durable home of jobs: their spec and state, their event log and a directory the runner writes
/// into. `DiskJobStore` is the real one; `MemoryJobStore` is its twin for tests.
/// Implementations need not be thread-safe: `JobManager` serialises every call, except `events(of:after:)`, which
/// `JobEventHub` calls outside the manager's lock (for a cursor older than the events it holds in memory): it must
/// be safe beside the manager's calls, and answer every event whose `append` returned (or threw after numbering it).
///
/// When the disk refuses a write (`save`, `append`: a full disk), the store still keeps the new state or event
/// in memory, so `load` and `events` answer what the manager decided, throws, and writes it on a later `flush`.
public protocol JobStore: Sendable {
    /// Stores a new job (spec and initial state); on failure nothing of the job is kept.
    func create(_ job: Job) throws
    /// Replaces the stored state of an existing job (kept in memory even when writing it fails).
    func save(_ job: Job) throws
    /// The job with `id`, or `nil`.
    func load(_ id: String) throws -> Job?
    /// Every stored job, in creation order (ids sort by creation).
    func loadAll() throws -> [Job]
    /// Removes the job and all its files.
    func delete(_ id: String) throws
    /// Appends `event` with the next sequence number and returns it as stored.
    func append(_ event: JobEvent, to id: String) throws -> JobEvent
    /// Events with a sequence number greater than `after`, in order.
    func events(of id: String, after: Int) throws -> [JobEvent]
    /// The directory the runner writes into (created on demand): per-shot checkpoints under
    /// `checkpoints/shot-<n>/`, artifacts at the top level.
    func outputDirectory(of id: String) throws -> URL
    /// The directory holding the job's pinned inputs (created on demand, before `create`); removed with the job.
    func inputsDirectory(of id: String) throws -> URL
    /// Writes the states and events that a failed write left only in memory; `true` when nothing is left unwritten.
    @discardableResult func flush() -> Bool
    /// Removes what a crash left behind (temporary files, half-deleted and state-less job directories);
    /// called once at start, before anything runs. Returns one line per thing removed.
    func sweep() -> [String]
}

extension JobStore {
    public func flush() -> Bool { true }
    public func sweep() -> [String] { [] }
}

/// Failures of a job store, naming the file and what went wrong.
public enum JobStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case alreadyExists(String)
    case notFound(String)
    case io(path: String, message: String)
    /// The disk (or quota) is full: ENOSPC or EDQUOT.
    case diskFull(path: String, message: String)
    case corrupt(path: String, message: String)

    public var description: String {
        switch self {
        case .alreadyExists(let id): return "job \(id) already exists"
        case .notFound(let id): return "job \(id) does not exist"
        case .io(let path, let message), .diskFull(let path, let message): return "\(path): \(message)"
        case .corrupt(let path, let message): return "\(path) is corrupt: \(message)"
        }
    }
}
