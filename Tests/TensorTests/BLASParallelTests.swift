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

/// OpenBLAS's thread count is process-global: `BLASThreads` owns it for every parallel section.
final class BLASThreadsTests: XCTestCase {
    /// Two jobs in one process each run parallel sections (some nested) at once. Before, each section saved
    /// the count it found and restored it, so a section that started inside another's saved 1 and left
    /// OpenBLAS on one thread for good; now the last section to end restores the configured count.
    func testConcurrentAndNestedSections_EndOnTheConfiguredCount() {
        let saved = BLASThreads.configured
        setBLASThreads(3)
        defer { setBLASThreads(saved) }
        final class Seen: @unchecked Sendable {
            let lock = NSLock()
            var countsInside = Set<Int>()
            func add(_ n: Int) { _ = lock.withLock { countsInside.insert(n) } }
        }
        let seen = Seen()
        DispatchQueue.concurrentPerform(iterations: 8) { job in
            for round in 0..<50 {
                BLASParallel.forEach(count: 4, workers: 2) { i, _ in
                    seen.add(blasThreads())
                    if (job + round + i) % 3 == 0 {
                        BLASParallel.forEach(count: 2, workers: 2) { _, _ in seen.add(blasThreads()) }
                    }
                }
            }
        }
        XCTAssertEqual(seen.countsInside, [1], "BLAS is single-threaded inside every section")
        XCTAssertEqual(BLASThreads.activeSections, 0)
        XCTAssertEqual(blasThreads(), 3, "the configured count, not a count some section saved")
    }

    /// A count configured while a section runs takes effect when the last section ends, not before.
    func testConfigureDuringASection_AppliesWhenTheLastSectionEnds() {
        let saved = BLASThreads.configured
        setBLASThreads(2)
        defer { setBLASThreads(saved) }
        BLASThreads.singleThreaded {
            BLASThreads.singleThreaded { setBLASThreads(4) }
            XCTAssertEqual(blasThreads(), 1, "still inside the outer section")
            XCTAssertEqual(BLASThreads.configured, 4)
        }
        XCTAssertEqual(blasThreads(), 4)
    }
}
