import XCTest
@testable import Jobs

final class JobQueueTests: XCTestCase {
    func testQueue_IsFIFOAndRefusesWhenFull() throws {
        var q = JobQueue(capacity: 2)
        try q.enqueue("a")
        try q.enqueue("b")
        XCTAssertThrowsError(try q.enqueue("c")) { XCTAssertEqual($0 as? JobQueueFull, JobQueueFull(capacity: 2)) }
        XCTAssertEqual(q.position(of: "b"), 2)
        XCTAssertEqual(q.dequeue(), "a")
        XCTAssertEqual(q.dequeue(), "b")
        XCTAssertNil(q.dequeue())
    }

    func testForcedEnqueue_IgnoresCapacityAndRemoveDropsAnId() throws {
        var q = JobQueue(capacity: 1)
        try q.enqueue("a")
        try q.enqueue("b", force: true)
        q.remove("a")
        XCTAssertEqual(q.ids, ["b"])
    }
}
