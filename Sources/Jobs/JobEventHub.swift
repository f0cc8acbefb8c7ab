import Foundation

/// Pushes each job's events to the streams that follow it, so that a follower never rescans the store
/// nor takes the manager's lock.
///
/// Per job the hub holds a `Channel`: the newest events in memory (at most `capacity`, in order, without gaps)
/// and its own condition. `JobManager` publishes every event right after the store appended it; that wakes
/// the followers of that job only. A cursor older than the channel's first event is answered from the store
/// (`JobStore.events`), read outside every lock. A channel that does not know its job's newest event (the job's
/// events were written before this process started, or an append failed) learns it from the store first.
///
/// Channels live while their job is not terminal or is followed; a deleted job's channel ends its followers.
public final class JobEventHub: @unchecked Sendable {
    /// What `Subscription.next` found.
    public enum Batch: Equatable, Sendable {
        /// Events after the cursor, in order, without gaps.
        case events([JobEvent])
        /// Nothing new before the timeout; the job goes on.
        case idle
        /// Nothing more will come: the cursor is at the terminal event (or past it), the job was deleted,
        /// or the manager stopped.
        case ended
    }

    /// One job's recent events and its followers' condition.
    final class Channel {
        let cond = NSCondition()
        /// The newest events (contiguous sequence numbers), at most `capacity`.
        var recent: [JobEvent] = []
        /// `true` when `recent.last` is the job's newest event (every later append is published).
        var synced = false
        /// Bumped by every publish and resync, so a store read can tell whether it is still current.
        var generation = 0
        /// The job was deleted or the hub closed.
        var gone = false
        var followers = 0

        var newest: JobEvent? { recent.last }
        var ended: Bool { synced && (newest?.isTerminal ?? false) }
    }

    public let capacity: Int
    private let store: JobStore
    private let lock = NSLock()
    private var channels: [String: Channel] = [:]
    private var closed = false

    /// A hub answering old cursors from `store`; each job keeps its `capacity` newest events in memory.
    public init(store: JobStore, capacity: Int = 256) {
        self.store = store; self.capacity = max(1, capacity)
    }

    // MARK: Producer side (JobManager)

    /// Records `event` (as the store returned it from `append`) and wakes the followers of job `id`.
    public func publish(_ event: JobEvent, of id: String) {
        guard let channel = lock.withLock({ closed ? nil : self.channel(id) }) else { return }
        channel.cond.lock()
        if let last = channel.newest, last.sequence + 1 == event.sequence {
            channel.recent.append(event)
            if channel.recent.count > capacity { channel.recent.removeFirst(channel.recent.count - capacity) }
        } else {
            channel.recent = [event]   // a gap (a failed append, or an event before this channel): the store has the rest
        }
        channel.synced = true
        channel.generation += 1
        let idle = channel.followers == 0 && event.isTerminal
        channel.cond.broadcast()
        channel.cond.unlock()
        if idle { drop(id, channel) }
    }

    /// An append to job `id` failed after the store numbered the event (it waits in the store's memory):
    /// the followers read the job's events from the store again.
    public func resync(_ id: String) {
        guard let channel = lock.withLock({ channels[id] }) else { return }
        channel.cond.lock()
        channel.synced = false
        channel.recent = []
        channel.generation += 1
        channel.cond.broadcast()
        channel.cond.unlock()
    }

    /// Job `id` was deleted: its followers' streams end.
    public func remove(_ id: String) {
        guard let channel = lock.withLock({ channels.removeValue(forKey: id) }) else { return }
        end(channel)
    }

    /// The manager stopped: every follower's stream ends, and later ones end at once.
    public func close() {
        let all: [Channel] = lock.withLock {
            closed = true
            defer { channels = [:] }
            return Array(channels.values)
        }
        all.forEach(end)
    }

    // MARK: Reader side

    /// Events of `id` after sequence `after`: from memory when the cursor is recent, else from the store.
    /// Never waits; takes no lock of the manager.
    public func events(of id: String, after: Int) throws -> [JobEvent] {
        if let channel = lock.withLock({ channels[id] }) {
            channel.cond.lock()
            let (recent, synced) = (channel.recent, channel.synced)
            channel.cond.unlock()
            if synced { return try Self.events(after: after, recent: recent, store: store, id: id) }
        }
        return try store.events(of: id, after: after)
    }

    /// Follows job `id` until the subscription is released.
    public func subscribe(_ id: String) -> Subscription {
        let channel: Channel = lock.withLock {
            let c = self.channel(id)
            c.cond.lock(); c.followers += 1; c.cond.unlock()   // under the hub's lock: `drop` sees the follower
            return c
        }
        return Subscription(hub: self, id: id, channel: channel)
    }

    /// One follower of one job: waits on that job's condition only.
    public final class Subscription: @unchecked Sendable {
        let hub: JobEventHub
        let id: String
        let channel: Channel

        init(hub: JobEventHub, id: String, channel: Channel) { self.hub = hub; self.id = id; self.channel = channel }
        deinit { hub.release(id, channel) }

        /// Events after `after`, waiting up to `timeout` for the first one.
        public func next(after: Int, timeout: TimeInterval) throws -> Batch {
            let deadline = Date().addingTimeInterval(timeout)
            let c = channel
            c.cond.lock()
            while true {
                if c.gone { c.cond.unlock(); return .ended }
                if !c.synced {
                    c.cond.unlock()
                    try hub.learn(c, id)
                    c.cond.lock()
                    continue
                }
                if let newest = c.newest, newest.sequence > after {
                    let recent = c.recent
                    c.cond.unlock()
                    return .events(try JobEventHub.events(after: after, recent: recent, store: hub.store, id: id))
                }
                if c.ended { c.cond.unlock(); return .ended }
                if !c.cond.wait(until: deadline) { c.cond.unlock(); return .idle }
            }
        }
    }

    // MARK: Helpers

    /// The channel of `id`, made when missing (the hub's lock held).
    private func channel(_ id: String) -> Channel {
        if let c = channels[id] { return c }
        let c = Channel()
        c.gone = closed
        channels[id] = c
        return c
    }

    /// Events after `after` given a channel's `recent` events: the part before them comes from the store.
    private static func events(after: Int, recent: [JobEvent], store: JobStore, id: String) throws -> [JobEvent] {
        guard let first = recent.first else { return try store.events(of: id, after: after) }
        if after >= first.sequence - 1 { return Array(recent.dropFirst(min(recent.count, after - first.sequence + 1))) }
        let older = try store.events(of: id, after: after).filter { $0.sequence < first.sequence }
        return older + recent
    }

    /// Reads the job's events from the store (no lock held) into a channel that does not know its newest event.
    /// A job without events is gone (every job has its `queued` event from the moment it exists).
    private func learn(_ channel: Channel, _ id: String) throws {
        while true {
            channel.cond.lock()
            if channel.synced || channel.gone { channel.cond.unlock(); return }
            let generation = channel.generation
            channel.cond.unlock()
            let all = try store.events(of: id, after: 0)
            channel.cond.lock()
            defer { channel.cond.unlock() }
            guard channel.generation == generation else { continue }   // published or resynced meanwhile: read again
            if all.isEmpty { channel.gone = true } else {
                channel.recent = Array(all.suffix(capacity))
                channel.synced = true
            }
            channel.generation += 1
            channel.cond.broadcast()
            return
        }
    }

    private func release(_ id: String, _ channel: Channel) {
        channel.cond.lock()
        channel.followers -= 1
        let idle = channel.followers == 0 && (channel.ended || channel.gone || !channel.synced)
        channel.cond.unlock()
        if idle { drop(id, channel) }
    }

    /// Forgets `channel` if it is still the one of `id` and nobody follows it.
    private func drop(_ id: String, _ channel: Channel) {
        lock.withLock {
            guard channels[id] === channel else { return }
            channel.cond.lock()
            let unfollowed = channel.followers == 0
            channel.cond.unlock()
            if unfollowed { channels[id] = nil }
        }
    }

    private func end(_ channel: Channel) {
        channel.cond.lock()
        channel.gone = true
        channel.cond.broadcast()
        channel.cond.unlock()
    }
}
