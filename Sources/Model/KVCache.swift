/// Keys and values of every position seen so far, per block, for incremental decoding.
public final class KVCache {
    /// Most positions the cache holds.
    public let capacity: Int
    /// Positions filled so far.
    public internal(set) var length = 0
    let k: [UnsafeMutablePointer<Float>]   // per block (capacity, KV·D) keys after RoPE
    let v: [UnsafeMutablePointer<Float>]   // per block (capacity, KV·D) values
    private let kvWidths: [Int]

    init(capacity: Int, kvWidths: [Int]) {
        self.capacity = capacity; self.kvWidths = kvWidths
        k = kvWidths.map { .allocate(capacity: max(1, capacity * $0)) }
        v = kvWidths.map { .allocate(capacity: max(1, capacity * $0)) }
    }

    /// Forgets every position (keeps the memory).
    public func reset() { length = 0 }

    deinit {
        for p in k { p.deallocate() }
        for p in v { p.deallocate() }
    }
}

/// A small seeded generator (SplitMix64) so sampling is reproducible.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
