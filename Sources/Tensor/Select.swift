/// Order-preserving map of a Float's bits to an unsigned key (negative values below positive ones).
@inlinable
func orderedKey(_ x: Float) -> UInt32 {
    let b = x.bitPattern
    return (b & 0x8000_0000) != 0 ? ~b : (b | 0x8000_0000)
}

@inlinable
func floatFromOrderedKey(_ k: UInt32) -> Float {
    Float(bitPattern: (k & 0x8000_0000) != 0 ? (k & 0x7FFF_FFFF) : ~k)
}

/// The `k`-th smallest value (0-based) over the concatenation of `buffers`, by a two-pass 16-bit radix
/// select (no sorting, no concatenated copy). NaNs must be removed by the caller. `k` is clamped to the
/// valid range; returns `nil` when the buffers are empty.
public func kthSmallest(_ k: Int, in buffers: [[Float]]) -> Float? {
    let n = buffers.reduce(0) { $0 + $1.count }
    if n == 0 { return nil }
    var rank = min(max(k, 0), n - 1)
    var high = [Int](repeating: 0, count: 65536)
    for buf in buffers {
        buf.withUnsafeBufferPointer { p in
            for x in p { high[Int(orderedKey(x) >> 16)] += 1 }
        }
    }
    var top = 0
    while rank >= high[top] { rank -= high[top]; top += 1 }
    var low = [Int](repeating: 0, count: 65536)
    let t = UInt32(top)
    for buf in buffers {
        buf.withUnsafeBufferPointer { p in
            for x in p {
                let key = orderedKey(x)
                if key >> 16 == t { low[Int(key & 0xFFFF)] += 1 }
            }
        }
    }
    var bottom = 0
    while rank >= low[bottom] { rank -= low[bottom]; bottom += 1 }
    return floatFromOrderedKey((t << 16) | UInt32(bottom))
}

/// The naive twin of `kthSmallest`: concatenate and sort.
public func kthSmallestNaive(_ k: Int, in buffers: [[Float]]) -> Float? {
    let all = buffers.flatMap { $0 }.sorted()
    if all.isEmpty { return nil }
    return all[min(max(k, 0), all.count - 1)]
}
