import Foundation

/// A token bucket: `capacity` requests at once, refilled at `ratePerSecond`.
public struct TokenBucket: Sendable, Equatable {
    public let capacity: Double
    public let ratePerSecond: Double
    public private(set) var tokens: Double
    public private(set) var updated: Double

    public init(capacity: Double, ratePerSecond: Double, now: Double) {
        self.capacity = capacity; self.ratePerSecond = ratePerSecond; self.tokens = capacity; self.updated = now
    }

    /// Takes one token. Returns `nil` when allowed, else the seconds until a token will be available.
    public mutating func take(now: Double) -> Double? {
        tokens = min(capacity, tokens + max(0, now - updated) * ratePerSecond)
        updated = now
        if tokens >= 1 { tokens -= 1; return nil }
        return (1 - tokens) / ratePerSecond
    }

    /// Whether the bucket would be full at `now` (and can be forgotten).
    func isFull(now: Double) -> Bool { tokens + (now - updated) * ratePerSecond >= capacity }
}

/// Requests per second per client, one token bucket per key (the client IP).
public final class HTTPRateLimiter: @unchecked Sendable {
    /// `requestsPerSecond` sustained, bursts of `burst`.
    public struct Policy: Sendable, Equatable {
        public var requestsPerSecond: Double
        public var burst: Double

        public init(requestsPerSecond: Double, burst: Double? = nil) {
            self.requestsPerSecond = max(1e-6, requestsPerSecond)
            self.burst = max(1, burst ?? requestsPerSecond)
        }
    }

    public let policy: Policy
    private let clock: any HTTPClock
    private let lock = NSLock()
    private var buckets: [String: TokenBucket] = [:]
    private let maxKeys: Int

    public init(policy: Policy, clock: any HTTPClock = SystemHTTPClock(), maxKeys: Int = 10_000) {
        self.policy = policy; self.clock = clock; self.maxKeys = maxKeys
    }

    /// Takes a token for `key`: `nil` when admitted, else the whole seconds the client should wait (≥ 1).
    public func admit(_ key: String) -> Int? {
        let now = clock.now()
        lock.lock(); defer { lock.unlock() }
        if buckets.count >= maxKeys { buckets = buckets.filter { !$0.value.isFull(now: now) } }
        var bucket = buckets[key] ?? TokenBucket(capacity: policy.burst, ratePerSecond: policy.requestsPerSecond, now: now)
        let wait = bucket.take(now: now)
        buckets[key] = bucket
        return wait.map { max(1, Int(min(3600, $0.rounded(.up)))) }
    }

    /// Number of clients tracked (for tests and metrics).
    public var trackedClients: Int { lock.lock(); defer { lock.unlock() }; return buckets.count }
}
