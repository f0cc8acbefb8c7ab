import Foundation
import XCTest
import Tensor

final class BLASParallelTests: XCTestCase {
    /// Collects (item, worker) pairs from the worker threads.
    final class Seen: @unchecked Sendable {
        let lock = NSLock()
        var pairs: [(item: Int, worker: Int)] = []
        func add(_ i: Int, _ w: Int) { lock.withLock { pairs.append((i, w)) } }
    }

    func testEveryItemRunsOnce_AndBLASThreadsAreRestored() {
        let saved = blasThreads()
        setBLASThreads(2)
        defer { setBLASThreads(saved) }
        for schedule in [BLASParallel.Schedule.dynamic, .interleaved] {
            let seen = Seen()
            BLASParallel.forEach(count: 37, workers: 3, schedule: schedule) { i, w in
                XCTAssertEqual(blasThreads(), 1, "BLAS is single-threaded inside")
                seen.add(i, w)
            }
            XCTAssertEqual(seen.pairs.map(\.item).sorted(), Array(0..<37))
            XCTAssertTrue(seen.pairs.allSatisfy { (0..<3).contains($0.worker) })
            XCTAssertEqual(blasThreads(), 2, "restored after \(schedule)")
        }
    }

    func testInterleaved_DealsItemIToWorkerIModW() {
        let seen = Seen()
        BLASParallel.forEach(count: 23, workers: 4, schedule: .interleaved) { i, w in seen.add(i, w) }
        XCTAssertEqual(seen.pairs.count, 23)
        for p in seen.pairs { XCTAssertEqual(p.worker, p.item % 4, "item \(p.item)") }
    }

    func testForEachThrowing_RethrowsTheFirstError() {
        struct Boom: Error {}
        XCTAssertThrowsError(try BLASParallel.forEachThrowing(count: 10, workers: 2) { i, _ in if i == 3 { throw Boom() } }) {
            XCTAssertTrue($0 is Boom)
        }
        XCTAssertNoThrow(try BLASParallel.forEachThrowing(count: 10, workers: 2) { _, _ in })
    }

    func testRanges_CoverTheCountWithoutOverlap() {
        for (count, workers, minimum) in [(1000, 2, 16), (31, 2, 16), (5, 3, 1), (0, 2, 1)] {
            let seen = Seen()
            BLASParallel.ranges(count: count, workers: workers, minimum: minimum) { r in for i in r { seen.add(i, 0) } }
            XCTAssertEqual(seen.pairs.map(\.item).sorted(), Array(0..<count), "count \(count)")
        }
    }
}
