import Foundation

/// A monotonic clock in seconds, injected so that timeouts and rate limits can be tested with a mock.
public protocol HTTPClock: Sendable {
    /// Seconds since an arbitrary fixed point; never goes backwards.
    func now() -> Double
}

/// `CLOCK_MONOTONIC`.
public struct SystemHTTPClock: HTTPClock {
    public init() {}

    public func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
