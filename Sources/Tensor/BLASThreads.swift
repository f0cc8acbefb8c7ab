import CBLAS
import Foundation

/// The one owner of OpenBLAS's thread count, which is process-global: the count set by `configure`
/// (`setBLASThreads`), and the single-threaded sections (`BLASParallel.forEach`) that run BLAS on one
/// thread while their own threads work in parallel.
///
/// Sections are reference-counted under one lock: the first to enter sets OpenBLAS to one thread, the last
/// to leave sets the configured count, and `configure` during a section only records the new count (applied
/// when the last section ends). So sections nested or running at once on different threads (two jobs in one
/// process) never restore a count another section saved, and the count after all of them is the configured one.
public enum BLASThreads {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var configuredCount: Int?
    nonisolated(unsafe) private static var sections = 0

    /// Sets the configured count (at least 1).
    public static func configure(_ n: Int) {
        lock.withLock {
            configuredCount = max(1, n)
            if sections == 0 { openblas_set_num_threads(Int32(max(1, n))) }
        }
    }

    /// The configured count: the last `configure`, or OpenBLAS's own count before any.
    public static var configured: Int {
        lock.withLock { configuredCount ?? (sections == 0 ? Int(openblas_get_num_threads()) : 1) }
    }

    /// Single-threaded sections running now.
    public static var activeSections: Int { lock.withLock { sections } }

    /// Runs `body` with OpenBLAS on one thread.
    public static func singleThreaded<T>(_ body: () throws -> T) rethrows -> T {
        enter()
        defer { leave() }
        return try body()
    }

    private static func enter() {
        lock.withLock {
            if sections == 0 {
                if configuredCount == nil { configuredCount = Int(openblas_get_num_threads()) }
                openblas_set_num_threads(1)
            }
            sections += 1
        }
    }

    private static func leave() {
        lock.withLock {
            sections -= 1
            if sections == 0, let n = configuredCount { openblas_set_num_threads(Int32(n)) }
        }
    }
}
