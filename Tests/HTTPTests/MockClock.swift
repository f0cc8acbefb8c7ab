import Foundation
@testable import HTTP

/// A clock the test advances by hand.
final class MockClock: HTTPClock, @unchecked Sendable {
    private let lock = NSLock()
    private var t: Double

    init(_ start: Double = 1000) { t = start }

    func now() -> Double { lock.lock(); defer { lock.unlock() }; return t }
    func advance(_ seconds: Double) { lock.lock(); t += seconds; lock.unlock() }
}
