import Foundation

/// The in-memory twin of `DiskJobStore` for tests. Output directories live under a temporary
/// directory because runners write real files.
public final class MemoryJobStore: JobStore, @unchecked Sendable {
    private let lock = NSLock()
    private var jobs: [String: Job] = [:]
    private var logs: [String: [JobEvent]] = [:]
    private let scratch: URL

    public init(scratch: URL = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-jobs-\(UUID().uuidString)")) {
        self.scratch = scratch
    }

    public func create(_ job: Job) throws {
        try lock.withLock {
            guard jobs[job.id] == nil else { throw JobStoreError.alreadyExists(job.id) }
            jobs[job.id] = job
            logs[job.id] = []
        }
    }

    public func save(_ job: Job) throws {
        try lock.withLock {
            guard jobs[job.id] != nil else { throw JobStoreError.notFound(job.id) }
            jobs[job.id] = job
        }
    }

    public func load(_ id: String) throws -> Job? { lock.withLock { jobs[id] } }

    public func loadAll() throws -> [Job] { lock.withLock { jobs.values.sorted { $0.id < $1.id } } }

    public func delete(_ id: String) throws {
        defer { try? FileManager.default.removeItem(at: scratch.appendingPathComponent(id)) }
        try lock.withLock {
            guard jobs.removeValue(forKey: id) != nil else { throw JobStoreError.notFound(id) }
            logs[id] = nil
        }
    }

    public func append(_ event: JobEvent, to id: String) throws -> JobEvent {
        try lock.withLock {
            guard var log = logs[id] else { throw JobStoreError.notFound(id) }
            var stored = event
            stored.sequence = (log.last?.sequence ?? 0) + 1
            log.append(stored)
            logs[id] = log
            return stored
        }
    }

    public func events(of id: String, after: Int) throws -> [JobEvent] {
        lock.withLock { (logs[id] ?? []).filter { $0.sequence > after } }
    }

    public func outputDirectory(of id: String) throws -> URL {
        let url = scratch.appendingPathComponent(id).appendingPathComponent("output", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    public func inputsDirectory(of id: String) throws -> URL {
        let url = scratch.appendingPathComponent(id).appendingPathComponent("inputs", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
