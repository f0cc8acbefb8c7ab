import Foundation

/// The merge table of a byte-level BPE: for each pair of token ids, its rank and the id it merges into.
struct BPEMerges: Sendable {
    /// `left << 32 | right` → `rank << 32 | merged id`.
    private var table: [UInt64: UInt64] = [:]

    init(merges: [(String, String)], ids: [String: Int32]) {
        table.reserveCapacity(merges.count)
        for (rank, (left, right)) in merges.enumerated() {
            guard let a = ids[left], let b = ids[right], let merged = ids[left + right] else { continue }
            let key = UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))
            if table[key] == nil { table[key] = UInt64(rank) << 32 | UInt64(UInt32(merged)) }
        }
    }

    var count: Int { table.count }

    /// `rank << 32 | merged id` of the pair, or nil.
    @inline(__always)
    func lookup(_ a: Int32, _ b: Int32) -> UInt64? {
        table[UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))]
    }

    /// Applies merges to `symbols` lowest rank first, leftmost first among equal ranks (as `tokenizers`).
    /// Quadratic scan for short words, a heap over a linked list for long ones.
    func apply(_ symbols: inout [Int32]) {
        if symbols.count <= 48 { applyNaive(&symbols) } else { applyHeap(&symbols) }
    }

    /// Reference: rescan every adjacent pair after each merge.
    func applyNaive(_ symbols: inout [Int32]) {
        while symbols.count > 1 {
            var best = UInt64.max
            var position = -1
            for k in 0..<(symbols.count - 1) {
                if let entry = lookup(symbols[k], symbols[k + 1]), entry < best {
                    best = entry
                    position = k
                }
            }
            if position < 0 { return }
            symbols[position] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            symbols.remove(at: position + 1)
        }
    }

    /// O(n log n): candidate merges in a min-heap keyed by (rank, position), stale entries skipped.
    func applyHeap(_ symbols: inout [Int32]) {
        let n = symbols.count
        guard n > 1 else { return }
        var next = [Int](0..<n).map { $0 + 1 }        // (n) n means none
        var previous = [Int](0..<n).map { $0 - 1 }    // (n) -1 means none
        var alive = [Bool](repeating: true, count: n)
        var heap = MinHeap()
        func push(_ position: Int) {
            let after = next[position]
            guard after < n, let entry = lookup(symbols[position], symbols[after]) else { return }
            heap.push((entry >> 32) << 32 | UInt64(position))
        }
        for position in 0..<(n - 1) { push(position) }
        while let top = heap.pop() {
            let rank = top >> 32
            let position = Int(top & 0xFFFF_FFFF)
            guard alive[position], next[position] < n,
                  let entry = lookup(symbols[position], symbols[next[position]]), entry >> 32 == rank else { continue }
            let removed = next[position]
            symbols[position] = Int32(truncatingIfNeeded: entry & 0xFFFF_FFFF)
            alive[removed] = false
            next[position] = next[removed]
            if next[removed] < n { previous[next[removed]] = position }
            push(position)
            if previous[position] >= 0 { push(previous[position]) }
        }
        var merged: [Int32] = []
        var position = 0
        while position < n {
            merged.append(symbols[position])
            position = next[position]
        }
        symbols = merged
    }
}

/// A binary min-heap of packed keys.
struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(_ value: UInt64) {
        items.append(value)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if items[parent] <= items[child] { break }
            items.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return first }
        items[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < items.count && items[left] < items[smallest] { smallest = left }
            if right < items.count && items[right] < items[smallest] { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }
}

/// Word → ids, shared by every copy of a tokenizer.
final class BPECache: @unchecked Sendable {
    private let lock = NSLock()
    private var words: [[UInt8]: [Int32]] = [:]
    private let capacity: Int

    init(capacity: Int = 100_000) { self.capacity = capacity }

    func get(_ word: ArraySlice<UInt8>) -> [Int32]? {
        let key = Array(word)
        lock.lock(); defer { lock.unlock() }
        return words[key]
    }

    func set(_ word: ArraySlice<UInt8>, _ ids: [Int32]) {
        let key = Array(word)
        lock.lock(); defer { lock.unlock() }
        if words.count >= capacity { words.removeAll(keepingCapacity: true) }  // crude bound
        words[key] = ids
    }
}
