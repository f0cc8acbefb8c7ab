/// A bounded FIFO of job ids, as a value. `JobManager` guards it with a lock.
public struct JobQueue: Sendable, Equatable {
    public let capacity: Int
    public private(set) var ids: [String] = []

    public init(capacity: Int) { self.capacity = max(1, capacity) }

    public var count: Int { ids.count }
    public var isFull: Bool { ids.count >= capacity }

    /// Appends `id`; throws `JobQueueFull` when at capacity unless `force` (jobs found at restart
    /// are never refused).
    public mutating func enqueue(_ id: String, force: Bool = false) throws(JobQueueFull) {
        if !force && isFull { throw JobQueueFull(capacity: capacity) }
        ids.append(id)
    }

    /// Removes and returns the oldest id.
    /// The id `dequeue` would return next.
    public var first: String? { ids.first }
    public mutating func dequeue() -> String? { ids.isEmpty ? nil : ids.removeFirst() }

    /// Removes `id` wherever it is (a cancelled queued job).
    public mutating func remove(_ id: String) { ids.removeAll { $0 == id } }

    /// 1-based position of `id`, or `nil`.
    public func position(of id: String) -> Int? { ids.firstIndex(of: id).map { $0 + 1 } }
}

/// The queue is at capacity; the API answers 429 with `Retry-After`.
public struct JobQueueFull: Error, Equatable, Sendable {
    public var capacity: Int
}
