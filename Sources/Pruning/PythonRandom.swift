import Foundation

/// Python's `random.Random` (MT19937) for the calls Surgeon needs, bit-for-bit: `seed(int)`,
/// `getrandbits`, `randbelow` and `sample(range(n), k)`. With it the calibration windows are the same
/// start offsets the reference implementation draws with `random.seed(100)`.
public struct PythonRandom: Codable, Sendable, Equatable {
    private var mt: [UInt32]
    private var index: Int

    /// Seeds like `random.seed(seed)` for a non-negative integer.
    public init(seed: UInt64) {
        var key: [UInt32] = []
        var s = seed
        repeat { key.append(UInt32(truncatingIfNeeded: s)); s >>= 32 } while s != 0
        mt = [UInt32](repeating: 0, count: 624)
        index = 624
        initByArray(key)
    }

    private mutating func initGenrand(_ s: UInt32) {
        mt[0] = s
        for i in 1..<624 {
            mt[i] = 1812433253 &* (mt[i - 1] ^ (mt[i - 1] >> 30)) &+ UInt32(i)
        }
    }

    private mutating func initByArray(_ key: [UInt32]) {
        initGenrand(19650218)
        var i = 1, j = 0
        for _ in 0..<max(624, key.count) {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) &* 1664525)) &+ key[j] &+ UInt32(j)
            i += 1; j += 1
            if i >= 624 { mt[0] = mt[623]; i = 1 }
            if j >= key.count { j = 0 }
        }
        for _ in 0..<623 {
            mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) &* 1566083941)) &- UInt32(i)
            i += 1
            if i >= 624 { mt[0] = mt[623]; i = 1 }
        }
        mt[0] = 0x8000_0000
        index = 624
    }

    /// The next 32-bit output (`genrand_uint32`).
    public mutating func nextUInt32() -> UInt32 {
        if index >= 624 {
            for k in 0..<624 {
                let y = (mt[k] & 0x8000_0000) | (mt[(k + 1) % 624] & 0x7fff_ffff)
                mt[k] = mt[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1) != 0 ? 0x9908_b0df : 0)
            }
            index = 0
        }
        var y = mt[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9d2c_5680
        y ^= (y << 15) & 0xefc6_0000
        y ^= y >> 18
        return y
    }

    /// `random.getrandbits(k)` for 0 < k ≤ 64.
    public mutating func getrandbits(_ k: Int) -> UInt64 {
        precondition(k > 0 && k <= 64)
        if k <= 32 { return UInt64(nextUInt32() >> UInt32(32 - k)) }
        let low = UInt64(nextUInt32())
        let high = UInt64(nextUInt32() >> UInt32(64 - k))
        return low | (high << 32)
    }

    /// `random._randbelow(n)`: uniform in `0..<n` by rejection on `n.bit_length()` bits.
    public mutating func randbelow(_ n: Int) -> Int {
        precondition(n > 0)
        let k = Int.bitWidth - n.leadingZeroBitCount
        var r = getrandbits(k)
        while r >= UInt64(n) { r = getrandbits(k) }
        return Int(r)
    }

    /// `random.sample(range(n), k)`: `k` distinct values in `0..<n`, in Python's order.
    public mutating func sample(rangeCount n: Int, k: Int) -> [Int] {
        precondition(k >= 0 && k <= n, "sample larger than population")
        var setsize = 21
        if k > 5 { setsize += Int(pow(4.0, ceil(log(Double(k * 3)) / log(4.0)))) }
        var result: [Int] = []
        result.reserveCapacity(k)
        if n <= setsize {
            var pool = Array(0..<n)
            for i in 0..<k {
                let j = randbelow(n - i)
                result.append(pool[j])
                pool[j] = pool[n - i - 1]
            }
        } else {
            var selected = Set<Int>()
            for _ in 0..<k {
                var j = randbelow(n)
                while selected.contains(j) { j = randbelow(n) }
                selected.insert(j)
                result.append(j)
            }
        }
        return result
    }

    /// `random.sample(range(n), k)` with rejection: draws as `sample` does and keeps only values `accept`
    /// admits until `k` are kept. When every draw is admitted the result equals `sample(rangeCount:k:)`.
    /// The caller guarantees that at least `k` values in `0..<n` are admitted.
    public mutating func sample(rangeCount n: Int, k: Int, accepting accept: (Int) -> Bool) -> [Int] {
        var setsize = 21
        if k > 5 { setsize += Int(pow(4.0, ceil(log(Double(k * 3)) / log(4.0)))) }
        if n <= setsize {  // Python's pool method: take the admitted prefix of a full permutation
            return Array(sample(rangeCount: n, k: n).lazy.filter(accept).prefix(k))
        }
        var selected = Set<Int>()
        var result: [Int] = []
        while result.count < k {
            var j = randbelow(n)
            while selected.contains(j) { j = randbelow(n) }
            selected.insert(j)
            if accept(j) { result.append(j) }
        }
        return result
    }
}
