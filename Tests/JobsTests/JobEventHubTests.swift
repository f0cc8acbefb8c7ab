import XCTest
import Pruning
@testable import Jobs

/// A memory store that counts the reads of event logs (the hub's fallback for old cursors).
final class CountingStore: JobStore, @unchecked Sendable {
    let inner = MemoryJobStore()
    private let lock = NSLock()
    private var reads = 0
    var eventReads: Int { lock.withLock { reads } }

    func create(_ job: Job) throws { try inner.create(job) }
    func save(_ job: Job) throws { try inner.save(job) }
    func load(_ id: String) throws -> Job? { try inner.load(id) }
    func loadAll() throws -> [Job] { try inner.loadAll() }
    func delete(_ id: String) throws { try inner.delete(id) }
    func append(_ event: JobEvent, to id: String) throws -> JobEvent { try inner.append(event, to: id) }
    func events(of id: String, after: Int) throws -> [JobEvent] {
        lock.withLock { reads += 1 }
        return try inner.events(of: id, after: after)
    }
    func outputDirectory(of id: String) throws -> URL { try inner.outputDirectory(of: id) }
    func inputsDirectory(of id: String) throws -> URL { try inner.inputsDirectory(of: id) }
}

private let spec = JobSpec(request: PruneRequest(model: "m.gguf", sparsity: 0.3, shots: 1, calibration: "c.txt"), owner: "alice")
private let succeeded = JobEvent(time: Date(), kind: .status, status: .succeeded, message: "succeeded")
private func progress(_ n: Int) -> JobEvent { JobEvent(time: Date(), kind: .progress, message: "step \(n)") }

/// A job in `store` with `count` progress events, each published to `hub` (when given) as the manager does.
private func job(_ id: String, in store: JobStore, events count: Int, hub: JobEventHub?) throws {
    try store.create(Job(id: id, spec: spec, createdAt: Date()))
    for n in 0..<count { try publish(progress(n), to: id, store: store, hub: hub) }
}

private func publish(_ event: JobEvent, to id: String, store: JobStore, hub: JobEventHub?) throws {
    let stored = try store.append(event, to: id)
    hub?.publish(stored, of: id)
}

private final class Box<T>: @unchecked Sendable {
    let lock = NSLock()
    var out: [Int: T] = [:]
}

/// Runs `body` on `count` threads at once and returns their results in order (waits at most `timeout`).
private func onThreads<T>(_ count: Int, timeout: TimeInterval = 20, _ body: @escaping @Sendable (Int) throws -> T) -> [T?] {
    let box = Box<T>()
    let done = DispatchGroup()
    for i in 0..<count {
        done.enter()
        Thread {
            if let r = try? body(i) { box.lock.withLock { box.out[i] = r } }
            done.leave()
        }.start()
    }
    XCTAssertEqual(done.wait(timeout: .now() + timeout), .success, "every thread returned")
    return box.lock.withLock { (0..<count).map { box.out[$0] } }
}

final class JobEventHubTests: XCTestCase {
    func testRecentCursorIsServedFromMemory_AnOlderOneFallsBackToTheStore() throws {
        let store = CountingStore()
        let hub = JobEventHub(store: store, capacity: 4)
        try job("job_1", in: store, events: 10, hub: hub)
        // The 4 newest (7...10) are in memory: a cursor at 6 or later does not read the store.
        XCTAssertEqual(try hub.events(of: "job_1", after: 7).map(\.sequence), [8, 9, 10])
        XCTAssertEqual(try hub.events(of: "job_1", after: 6).map(\.sequence), [7, 8, 9, 10])
        XCTAssertEqual(try hub.events(of: "job_1", after: 10), [])
        XCTAssertEqual(store.eventReads, 0)
        // Older cursors get the missing part from the store, then the ring: no gap, no duplicate.
        XCTAssertEqual(try hub.events(of: "job_1", after: 2).map(\.sequence), Array(3...10))
        XCTAssertEqual(store.eventReads, 1)
        let follower = hub.subscribe("job_1")
        XCTAssertEqual(try follower.next(after: 0, timeout: 1), .events(try store.inner.events(of: "job_1", after: 0)))
        XCTAssertEqual(store.eventReads, 2)
        XCTAssertEqual(try follower.next(after: 8, timeout: 1), .events(try store.inner.events(of: "job_1", after: 8)))
        XCTAssertEqual(store.eventReads, 2)
    }

    func testEveryWaiterOfAJobWakes_AndOnlyThatJobsWaiters() throws {
        let store = CountingStore()
        let hub = JobEventHub(store: store)
        try job("job_a", in: store, events: 1, hub: hub)
        try job("job_b", in: store, events: 1, hub: hub)
        final class Results: @unchecked Sendable { var all: [JobEventHub.Batch?] = [] }
        let results = Results()
        let finished = DispatchSemaphore(value: 0)
        Thread {
            // 64 followers of job_a and 8 of job_b, all waiting after event 1.
            results.all = onThreads(72) { i -> JobEventHub.Batch in
                try hub.subscribe(i < 64 ? "job_a" : "job_b").next(after: 1, timeout: i < 64 ? 20 : 1.5)
            }
            finished.signal()
        }.start()
        usleep(300_000)   // most are waiting by now (a late one finds the event at once: the result is the same)
        let started = Date()
        try publish(progress(1), to: "job_a", store: store, hub: hub)
        XCTAssertEqual(finished.wait(timeout: .now() + 25), .success)
        let a = results.all.prefix(64), b = results.all.dropFirst(64)
        let expected = JobEventHub.Batch.events(try store.inner.events(of: "job_a", after: 1))
        XCTAssertEqual(a.count, 64)
        XCTAssertTrue(a.allSatisfy { $0 == expected }, "\(a)")
        XCTAssertEqual(Array(b), Array(repeating: .idle, count: 8), "job_b's followers time out: nothing was published to them")
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        XCTAssertEqual(store.eventReads, 0, "no follower read the store")
    }

    func testAFollowerOfAJobWrittenBeforeTheHub_LearnsItsEventsAndEndFromTheStore() throws {
        // A restarted service: the job and its terminal event are in the store, the new hub has seen nothing.
        let store = CountingStore()
        try job("job_1", in: store, events: 3, hub: nil)
        try publish(succeeded, to: "job_1", store: store, hub: nil)
        let hub = JobEventHub(store: store)
        let f = hub.subscribe("job_1")
        XCTAssertEqual(try f.next(after: 0, timeout: 1), .events(try store.inner.events(of: "job_1", after: 0)))
        XCTAssertEqual(store.eventReads, 1, "read once, then served from memory")
        XCTAssertEqual(try f.next(after: 2, timeout: 1), .events(try store.inner.events(of: "job_1", after: 2)))
        XCTAssertEqual(try f.next(after: 4, timeout: 10), .ended)
        XCTAssertEqual(try f.next(after: 99, timeout: 10), .ended, "a cursor past the end also ends")
        XCTAssertEqual(store.eventReads, 1)
    }

    func testFollowersSeeTheTerminalEventThenEnd() throws {
        let store = CountingStore()
        let hub = JobEventHub(store: store)
        try job("job_1", in: store, events: 3, hub: hub)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) {
            try? publish(progress(3), to: "job_1", store: store, hub: hub)
            try? publish(succeeded, to: "job_1", store: store, hub: hub)
        }
        let seen = onThreads(16) { _ -> [Int] in
            let f = hub.subscribe("job_1")
            var last = 3, ids: [Int] = []
            while case .events(let e) = try f.next(after: last, timeout: 20) {
                ids += e.map(\.sequence); last = e.last!.sequence
            }
            return ids
        }
        XCTAssertEqual(seen, Array(repeating: [4, 5], count: 16))
    }

    func testDeletingTheJobEndsTheWait() throws {
        let store = CountingStore()
        let hub = JobEventHub(store: store)
        try job("job_1", in: store, events: 2, hub: hub)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) {
            try? store.delete("job_1")
            hub.remove("job_1")
        }
        let started = Date()
        let ends = onThreads(16) { _ in try hub.subscribe("job_1").next(after: 2, timeout: 30) }
        XCTAssertEqual(ends, Array(repeating: .ended, count: 16))
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "woken, not timed out")
        // A follower arriving after the delete finds no events: the job is gone.
        XCTAssertEqual(try hub.subscribe("job_1").next(after: 2, timeout: 30), .ended)
    }

    func testClosingTheHubEndsEveryWait() throws {
        let store = CountingStore()
        let hub = JobEventHub(store: store)
        try job("job_1", in: store, events: 1, hub: hub)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { hub.close() }
        XCTAssertEqual(onThreads(4) { _ in try hub.subscribe("job_1").next(after: 1, timeout: 30) },
                       Array(repeating: .ended, count: 4))
        XCTAssertEqual(try hub.subscribe("job_1").next(after: 1, timeout: 30), .ended)
    }

    func testAFailedAppend_MakesTheFollowersReadTheStore() throws {
        let store = CountingStore()
        let hub = JobEventHub(store: store, capacity: 4)
        try job("job_1", in: store, events: 2, hub: hub)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) {
            // Event 3 is numbered and kept by the store, but its append "failed": the manager resyncs, then
            // event 4 is published after a gap.
            _ = try? store.append(progress(2), to: "job_1")
            hub.resync("job_1")
            try? publish(progress(3), to: "job_1", store: store, hub: hub)
        }
        let f = hub.subscribe("job_1")
        var last = 2, ids: [Int] = []
        while ids.count < 2, case .events(let e) = try f.next(after: last, timeout: 20) {
            ids += e.map(\.sequence); last = e.last!.sequence
        }
        XCTAssertEqual(ids, [3, 4])
        XCTAssertEqual(try hub.events(of: "job_1", after: 0).map(\.sequence), [1, 2, 3, 4])
    }

    func testManagerPublishesItsEvents_AndDeleteEndsFollowers() throws {
        let m = JobManager(store: MemoryJobStore(), runner: SimulatedPruneRunner(layers: 3))
        try m.start(); defer { m.stop() }
        let (job, _) = try m.submit(spec)
        let follower = m.subscribe(to: job.id)
        var last = 0, seen: [JobEvent] = []
        while case .events(let e) = try follower.next(after: last, timeout: 10) {
            seen += e; last = e.last!.sequence
        }
        XCTAssertEqual(seen, try m.store.events(of: job.id, after: 0))
        XCTAssertTrue(seen.last?.isTerminal == true)
        XCTAssertTrue(m.waitUntilIdle(timeout: 10))
        XCTAssertEqual(try follower.next(after: last, timeout: 10), .ended)
        try m.delete(job.id)
        XCTAssertEqual(try m.subscribe(to: job.id).next(after: 0, timeout: 10), .ended)
    }
}
