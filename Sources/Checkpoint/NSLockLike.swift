import Foundation

/// A tiny mutex wrapper (Foundation's NSLock) with a closure helper.
final class NSLockLike: @unchecked Sendable {
    private let lock = NSLock()
    func locked<T>(_ body: () throws -> T) rethrows -> T { lock.lock(); defer { lock.unlock() }; return try body() }
}
