import Foundation

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
