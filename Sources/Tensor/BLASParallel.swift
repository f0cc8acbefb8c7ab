import Foundation

/// Runs independent pieces of work (layers, attention heads, row ranges) on several threads, each calling
/// single-threaded BLAS, so that `workers × BLAS threads` stays within the threads the caller was given
/// (DEVELOPERS.md: never oversubscribe).
public enum BLASParallel {
    /// Calls `body(item, worker)` for every `item` in `0..<count`, items taken in ascending order by
    /// `workers` threads (`worker` in `0..<workers` names the thread, for per-thread scratch). BLAS runs
    /// single-threaded meanwhile and its thread count is restored afterwards. With one worker, runs inline.
    public static func forEach(count: Int, workers: Int, _ body: (_ item: Int, _ worker: Int) -> Void) {
        let w = max(1, min(workers, count))
        if w == 1 {
            for i in 0..<count { body(i, 0) }
            return
        }
        let saved = blasThreads()
        setBLASThreads(1)
        defer { setBLASThreads(saved) }
        withoutActuallyEscaping(body) { body in
            let queue = Queue(count: count, body: body)
            DispatchQueue.concurrentPerform(iterations: w) { worker in
                while let i = queue.take() { queue.body(i, worker) }
            }
        }
    }

    /// `forEach` for work that can fail: the first error stops the remaining items (those already running
    /// finish) and is rethrown.
    public static func forEachThrowing(count: Int, workers: Int, _ body: (_ item: Int, _ worker: Int) throws -> Void) throws {
        let first = FirstError()
        forEach(count: count, workers: workers) { i, worker in
            guard !first.isSet else { return }
            do { try body(i, worker) } catch { first.set(error) }
        }
        if let failure = first.error { throw failure }
    }

    /// The first error of `forEachThrowing`, shared by the worker threads under a lock.
    private final class FirstError: @unchecked Sendable {
        let lock = NSLock()
        private(set) var error: Error?
        var isSet: Bool { lock.withLock { error != nil } }
        func set(_ e: Error) { lock.withLock { if error == nil { error = e } } }
    }

    /// The work and the next item to take, shared by the worker threads under a lock.
    private final class Queue: @unchecked Sendable {
        let lock = NSLock()
        let count: Int
        let body: (Int, Int) -> Void
        var next = 0
        init(count: Int, body: @escaping (Int, Int) -> Void) { self.count = count; self.body = body }
        func take() -> Int? {
            lock.withLock {
                guard next < count else { return nil }
                defer { next += 1 }
                return next
            }
        }
    }
}
