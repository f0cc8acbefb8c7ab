import Foundation

/// The on-disk job store: one directory per job under `root`:
///
/// ```
/// <root>/<job id>/request.json   the spec as submitted (written once)
///                 state.json     the whole job, replaced by temp + fsync + rename
///                 events.jsonl   append-only, one event per line with its sequence number
///                 output/        the runner's directory: checkpoints/shot-<n>/ and artifacts
/// ```
public final class DiskJobStore: JobStore, @unchecked Sendable {
    public let root: URL
    private let lock = NSLock()
    /// Last sequence number per job, learned from the log on first use.
    private var lastSequence: [String: Int] = [:]
    /// The last state saved or loaded per job: this process is the store's only writer, so status
    /// reads (polled by clients many times a second) skip the disk and the JSON decoder.
    private var cache: [String: Job] = [:]

    /// Opens (and creates) the store under `root`.
    public init(root: URL) throws {
        self.root = root
        do { try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true) } catch {
            throw JobStoreError.io(path: root.path, message: "cannot create the jobs directory: \(error.localizedDescription)")
        }
    }

    func directory(_ id: String) -> URL { root.appendingPathComponent(id, isDirectory: true) }

    public func create(_ job: Job) throws {
        let dir = directory(job.id)
        if FileManager.default.fileExists(atPath: dir.path) { throw JobStoreError.alreadyExists(job.id) }
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw JobStoreError.io(path: dir.path, message: error.localizedDescription)
        }
        try AtomicFile.write(try JobCoding.encoder(pretty: true).encode(job.spec), to: dir.appendingPathComponent("request.json"))
        try save(job)
        AtomicFile.syncDirectory(root.path)
    }

    public func save(_ job: Job) throws {
        let url = directory(job.id).appendingPathComponent("state.json")
        try AtomicFile.write(try JobCoding.encoder(pretty: true).encode(job), to: url)
        lock.withLock { cache[job.id] = job }
    }

    public func load(_ id: String) throws -> Job? {
        if let job = lock.withLock({ cache[id] }) { return job }
        let url = directory(id).appendingPathComponent("state.json")
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        let job: Job
        do { job = try JobCoding.decoder().decode(Job.self, from: data) } catch {
            throw JobStoreError.corrupt(path: url.path, message: "\(error)")
        }
        lock.withLock { cache[id] = job }
        return job
    }

    public func loadAll() throws -> [Job] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return try names.filter { $0.hasPrefix("job_") }.sorted().compactMap { try load($0) }
    }

    public func delete(_ id: String) throws {
        lock.withLock { _ = lastSequence.removeValue(forKey: id); _ = cache.removeValue(forKey: id) }
        let dir = directory(id)
        guard FileManager.default.fileExists(atPath: dir.path) else { throw JobStoreError.notFound(id) }
        // Rename first so a crash mid-delete never leaves a half-deleted job that rescans as live.
        let doomed = root.appendingPathComponent(".deleted-\(id)")
        do {
            try FileManager.default.moveItem(at: dir, to: doomed)
            try FileManager.default.removeItem(at: doomed)
        } catch { throw JobStoreError.io(path: dir.path, message: error.localizedDescription) }
    }

    public func append(_ event: JobEvent, to id: String) throws -> JobEvent {
        let url = directory(id).appendingPathComponent("events.jsonl")
        var stored = event
        let seq = try lock.withLock { () throws -> Int in
            if lastSequence[id] == nil { lastSequence[id] = try readEvents(url).last?.sequence ?? 0 }
            lastSequence[id]! += 1
            return lastSequence[id]!
        }
        stored.sequence = seq
        var line = try JobCoding.encoder().encode(stored)
        line.append(0x0A)
        // Status changes are fsynced; progress lines are not (the next status change syncs them).
        try AtomicFile.append(line, to: url, sync: event.kind != .progress)
        return stored
    }

    public func events(of id: String, after: Int) throws -> [JobEvent] {
        try readEvents(directory(id).appendingPathComponent("events.jsonl")).filter { $0.sequence > after }
    }

    public func outputDirectory(of id: String) throws -> URL {
        let url = directory(id).appendingPathComponent("output", isDirectory: true)
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw JobStoreError.io(path: url.path, message: error.localizedDescription)
        }
        return url
    }

    /// Reads a log, skipping a torn last line left by a crash.
    private func readEvents(_ url: URL) throws -> [JobEvent] {
        guard let data = FileManager.default.contents(atPath: url.path) else { return [] }
        let decoder = JobCoding.decoder()
        var out: [JobEvent] = []
        for line in data.split(separator: 0x0A) where !line.isEmpty {
            guard let event = try? decoder.decode(JobEvent.self, from: Data(line)) else { continue }
            out.append(event)
        }
        return out
    }
}
