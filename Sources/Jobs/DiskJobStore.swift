import Foundation

/// The on-disk job store: one directory per job under `root`:
///
/// ```
/// <root>/<job id>/request.json   the spec as submitted (written once)
///                 state.json     the whole job, replaced by temp + fsync + rename
///                 events.jsonl   append-only, one event per line with its sequence number
///                 inputs/        the job's pinned inputs (hard links to the uploads it was submitted with)
///                 output/        the runner's directory: checkpoints/shot-<n>/ and artifacts
/// ```
///
/// A state or event the disk refuses (a full disk) is kept in memory, answered by `load` and `events`, and
/// written by the next `flush` that finds room.
public final class DiskJobStore: JobStore, @unchecked Sendable {
    public let root: URL
    private let lock = NSLock()
    /// Last sequence number per job, learned from the log on first use.
    private var lastSequence: [String: Int] = [:]
    /// The last state saved or loaded per job: this process is the store's only writer, so status
    /// reads (polled by clients many times a second) skip the disk and the JSON decoder.
    private var cache: [String: Job] = [:]
    /// Jobs whose cached state is newer than their `state.json` (its write failed).
    private var unsaved: Set<String> = []
    /// Events numbered but not yet in the log (a write failed), in order, per job.
    private var unwritten: [String: [JobEvent]] = [:]

    /// Opens (and creates) the store under `root`.
    public init(root: URL) throws {
        self.root = root
        do { try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true) } catch {
            throw JobStoreError.io(path: root.path, message: "cannot create the jobs directory: \(error.localizedDescription)")
        }
    }

    func directory(_ id: String) -> URL { root.appendingPathComponent(id, isDirectory: true) }
    private func stateURL(_ id: String) -> URL { directory(id).appendingPathComponent("state.json") }
    private func logURL(_ id: String) -> URL { directory(id).appendingPathComponent("events.jsonl") }

    public func create(_ job: Job) throws {
        let dir = directory(job.id)
        if FileManager.default.fileExists(atPath: stateURL(job.id).path) { throw JobStoreError.alreadyExists(job.id) }
        do {
            do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
                throw JobStoreError.io(path: dir.path, message: error.localizedDescription)
            }
            try AtomicFile.write(try JobCoding.encoder(pretty: true).encode(job.spec), to: dir.appendingPathComponent("request.json"))
            try AtomicFile.write(try JobCoding.encoder(pretty: true).encode(job), to: stateURL(job.id))
        } catch {
            try? FileManager.default.removeItem(at: dir)
            throw error
        }
        lock.withLock { cache[job.id] = job }
        AtomicFile.syncDirectory(root.path)
    }

    public func save(_ job: Job) throws {
        lock.withLock { cache[job.id] = job; unsaved.insert(job.id) }
        try write(job)
    }

    private func write(_ job: Job) throws {
        try AtomicFile.write(try JobCoding.encoder(pretty: true).encode(job), to: stateURL(job.id))
        lock.withLock { if cache[job.id] == job { unsaved.remove(job.id) } }
    }

    public func load(_ id: String) throws -> Job? {
        if let job = lock.withLock({ cache[id] }) { return job }
        let url = stateURL(id)
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
        lock.withLock {
            lastSequence[id] = nil; cache[id] = nil; unsaved.remove(id); unwritten[id] = nil
        }
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
        let url = logURL(id)
        var stored = event
        let (seq, behind) = try lock.withLock { () throws -> (Int, Bool) in
            if lastSequence[id] == nil { lastSequence[id] = try readEvents(url).last?.sequence ?? 0 }
            lastSequence[id]! += 1
            return (lastSequence[id]!, unwritten[id] != nil)
        }
        stored.sequence = seq
        if behind {  // earlier events are still waiting: keep the order
            lock.withLock { unwritten[id, default: []].append(stored) }
            if !flushEvents(id) { throw JobStoreError.diskFull(path: url.path, message: "events wait in memory for space") }
            return stored
        }
        do {
            // Status changes are fsynced; progress lines are not (the next status change syncs them).
            try AtomicFile.append(try line(stored), to: url, sync: event.kind != .progress)
        } catch {
            lock.withLock { unwritten[id, default: []].append(stored) }
            throw error
        }
        return stored
    }

    private func line(_ event: JobEvent) throws -> Data {
        var line = try JobCoding.encoder().encode(event)
        line.append(0x0A)
        return line
    }

    public func events(of id: String, after: Int) throws -> [JobEvent] {
        let onDisk = try readEvents(logURL(id))
        let waiting = lock.withLock { unwritten[id] ?? [] }
        let last = onDisk.last?.sequence ?? 0
        return (onDisk + waiting.filter { $0.sequence > last }).filter { $0.sequence > after }
    }

    public func outputDirectory(of id: String) throws -> URL { try subdirectory("output", of: id) }

    public func inputsDirectory(of id: String) throws -> URL { try subdirectory("inputs", of: id) }

    private func subdirectory(_ name: String, of id: String) throws -> URL {
        let url = directory(id).appendingPathComponent(name, isDirectory: true)
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw JobStoreError.io(path: url.path, message: error.localizedDescription)
        }
        return url
    }

    @discardableResult
    public func flush() -> Bool {
        let (states, logs) = lock.withLock { (unsaved.compactMap { cache[$0] }, Array(unwritten.keys)) }
        var clean = true
        for job in states.sorted(by: { $0.id < $1.id }) {
            do { try write(job) } catch { clean = false }
        }
        for id in logs.sorted() where !flushEvents(id) { clean = false }
        return clean
    }

    /// Writes the waiting events of `id` in order; `false` when some are still waiting.
    private func flushEvents(_ id: String) -> Bool {
        while let next = lock.withLock({ unwritten[id]?.first }) {
            do { try AtomicFile.append(try line(next), to: logURL(id), sync: true) } catch { return false }
            lock.withLock {
                unwritten[id]?.removeFirst()
                if unwritten[id]?.isEmpty == true { unwritten[id] = nil }
            }
        }
        return true
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
