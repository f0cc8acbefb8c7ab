import Foundation
import HTTP

/// The `GET /v1/jobs/{id}` responses of finished jobs, which never change again (a succeeded job
/// carries its whole report, ~25 KB of JSON that would otherwise be re-encoded on every poll).
/// Keyed by job id and checked against `updatedAt`; bounded (cleared when full).
final class TerminalJobCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: (updatedAt: Date, response: HTTPResponse)] = [:]
    private let capacity: Int

    init(capacity: Int = 1024) { self.capacity = capacity }

    func response(id: String, updatedAt: Date) -> HTTPResponse? {
        lock.lock(); defer { lock.unlock() }
        guard let e = entries[id], e.updatedAt == updatedAt else { return nil }
        return e.response
    }

    func store(id: String, updatedAt: Date, _ response: HTTPResponse) {
        lock.lock(); defer { lock.unlock() }
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[id] = (updatedAt, response)
    }

    func remove(id: String) {
        lock.lock(); entries[id] = nil; lock.unlock()
    }
}
