import XCTest
import Pruning
@testable import Jobs

/// Admission by memory plans: the plans of the running jobs add up to at most `Options.memoryBudget`.
final class MemoryAdmissionTests: XCTestCase {
    /// Counts jobs between their first and last layer and keeps the most seen at once.
    final class Overlap: @unchecked Sendable {
        private let lock = NSLock()
        private var active = 0
        private(set) var most = 0
        var admittedSeen: [Int] = []
        func hook(_ shot: Int, _ layer: Int, last: (Int, Int), admitted: () -> Int) {
            lock.lock(); defer { lock.unlock() }
            if shot == 1 && layer == 1 { active += 1; most = max(most, active); admittedSeen.append(admitted()) }
            if (shot, layer) == last { active -= 1 }
        }
    }

    func run(estimates: [Int], budget: Int?) throws -> Overlap {
        let overlap = Overlap()
        final class Box: @unchecked Sendable { var manager: JobManager? }
        let box = Box()
        let runner = SimulatedPruneRunner(layers: 2, secondsPerLayer: 0.05, onLayer: { s, l in
            overlap.hook(s, l, last: (3, 2), admitted: { box.manager?.admitted.bytes ?? -1 })
        })
        let m = JobManager(store: MemoryJobStore(), runner: runner, options: .init(workers: 3, queueCapacity: 8, memoryBudget: budget))
        box.manager = m
        for e in estimates {
            _ = try m.submit(JobSpec(request: PruneRequest(model: "m.gguf", sparsity: 0.3, shots: 3, calibration: "c.txt"),
                                     owner: "alice", memoryEstimateBytes: e))
        }
        try m.start(); defer { m.stop() }
        XCTAssertTrue(m.waitUntilIdle(timeout: 30))
        XCTAssertEqual(try m.list(owner: "alice", limit: 100, after: nil).jobs.filter { $0.status == .succeeded }.count, estimates.count)
        XCTAssertEqual(m.admitted.bytes, 0)
        return overlap
    }

    func testPlansThatDoNotFitTogether_RunOneAtATime() throws {
        let o = try run(estimates: [6, 6, 6], budget: 10)
        XCTAssertEqual(o.most, 1)
        XCTAssertTrue(o.admittedSeen.allSatisfy { $0 <= 10 }, "\(o.admittedSeen)")
    }

    func testPlansThatFit_RunTogether_UpToTheBudget() throws {
        let o = try run(estimates: [4, 4, 4], budget: 10)
        XCTAssertEqual(o.most, 2, "two plans of 4 fit a budget of 10, three do not")
        XCTAssertTrue(o.admittedSeen.allSatisfy { $0 <= 10 }, "\(o.admittedSeen)")
    }

    func testNoBudget_EveryWorkerRuns() throws {
        XCTAssertEqual(try run(estimates: [6, 6, 6], budget: nil).most, 3)
    }

    /// A plan larger than the whole budget still runs once it is alone (its size was checked at submit), and the
    /// queue is first in, first out: the small job behind it does not overtake it.
    func testOversizedPlan_RunsAlone_AndIsNotOvertaken() throws {
        XCTAssertEqual(try run(estimates: [4, 20, 4], budget: 10).most, 1)
    }
}
