import Foundation
import Tensor

/// Runs independent per-layer work on several threads, each calling single-threaded BLAS, so that
/// `workers × BLAS threads` stays within the threads this job was given (DEVELOPERS.md: never oversubscribe).
enum LayerParallel {
    /// Calls `body(i)` for every `i` in `0..<count`, layers taken in ascending order by `workers` threads.
    /// BLAS runs single-threaded meanwhile and its thread count is restored afterwards. The first error stops
    /// the remaining layers (those already running finish) and is rethrown.
    static func forEach(count: Int, workers: Int, _ body: (Int) throws -> Void) throws {
        let w = max(1, min(workers, count))
        if w == 1 {
            for i in 0..<count { try body(i) }
            return
        }
        let saved = blasThreads()
        setBLASThreads(1)
        defer { setBLASThreads(saved) }
        try withoutActuallyEscaping(body) { body in
            let shared = Shared(count: count, body: body)
            DispatchQueue.concurrentPerform(iterations: w) { _ in shared.work() }
            if let failure = shared.failure { throw failure }
        }
    }

    /// The queue of layer indices and the first error, shared by the worker threads under a lock.
    private final class Shared: @unchecked Sendable {
        let lock = NSLock()
        let count: Int
        let body: (Int) throws -> Void
        var next = 0
        var failure: Error?

        init(count: Int, body: @escaping (Int) throws -> Void) { self.count = count; self.body = body }

        func work() {
            while true {
                lock.lock()
                if failure != nil || next >= count { lock.unlock(); return }
                let i = next
                next += 1
                lock.unlock()
                do { try body(i) } catch {
                    lock.lock()
                    if failure == nil { failure = error }
                    lock.unlock()
                    return
                }
            }
        }
    }
}
