import Foundation

/// Runs independent pieces of work (layers, attention heads, row ranges) on several threads, each calling
/// single-threaded BLAS, so that `workers × BLAS threads` stays within the threads the caller was given
/// (DEVELOPERS.md: never oversubscribe).
public enum BLASParallel {
    /// How items are dealt to the threads.
    public enum Schedule: Sendable {
        /// The next free thread takes the next item: best balance.
        case dynamic
        /// Item `i` goes to thread `i % workers`, in ascending order: which thread handles what is fixed,
        /// so work that adds into per-thread copies gives the same bits on every run.
        case interleaved
    }

    /// Calls `body(item, worker)` for every `item` in `0..<count`, items taken in ascending order by
    /// `workers` threads (`worker` in `0..<workers` names the thread, for per-thread scratch). BLAS runs
    /// single-threaded meanwhile (`BLASThreads.singleThreaded`: nested or concurrent sections share one
    /// reference-counted owner, so the configured count comes back when the last one ends). With one worker, runs inline.
    public static func forEach(count: Int, workers: Int, schedule: Schedule = .dynamic,
                               _ body: (_ item: Int, _ worker: Int) -> Void) {
        let w = max(1, min(workers, count))
        if w == 1 {
            for i in 0..<count { body(i, 0) }
            return
        }
        BLASThreads.singleThreaded {
            withoutActuallyEscaping(body) { body in
                let queue = Queue(count: count, body: body)
                DispatchQueue.concurrentPerform(iterations: w) { worker in
                    switch schedule {
                    case .dynamic: while let i = queue.take() { queue.body(i, worker) }
                    case .interleaved: for i in stride(from: worker, to: count, by: w) { queue.body(i, worker) }
                    }
                }
            }
        }
    }

    /// Element-wise work between BLAS calls: splits `0..<count` into at most `workers` contiguous ranges of at
    /// least `minimum` items and runs `body` on each at once (inline when one range suffices).
    public static func ranges(count: Int, workers: Int, minimum: Int, _ body: (Range<Int>) -> Void) {
        let w = max(1, min(workers, count / max(1, minimum)))
        if w == 1 {
            if count > 0 { body(0..<count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = RangeBody(body)
            DispatchQueue.concurrentPerform(iterations: w) { i in box.body((i * count / w)..<((i + 1) * count / w)) }
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

    /// Carries a range body into the worker threads (each range is disjoint, so the body may write freely).
    private final class RangeBody: @unchecked Sendable {
        let body: (Range<Int>) -> Void
        init(_ body: @escaping (Range<Int>) -> Void) { self.body = body }
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
