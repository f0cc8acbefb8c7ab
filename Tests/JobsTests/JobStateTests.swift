import XCTest
@testable import Jobs

final class JobStateTests: XCTestCase {
    typealias E = JobState.Event
    typealias A = JobState.Action

    /// Every legal edge: (from, event) → (to, action).
    let legal: [(JobStatus, E, JobStatus, A)] = [
        (.queued, .start, .running, .run(resumeAfterShot: 0)),
        (.queued, .cancel, .cancelled, .dequeue),
        (.queued, .restart, .queued, .enqueue),
        (.running, .shotFinished(1), .running, .none),
        (.running, .cancel, .cancelling, .signalCancel),
        (.running, .succeed, .succeeded, .finish),
        (.running, .fail, .failed, .finish),
        (.running, .restart, .queued, .enqueue),
        (.cancelling, .shotFinished(1), .cancelling, .none),
        (.cancelling, .cancel, .cancelling, .none),
        (.cancelling, .succeed, .succeeded, .finish),
        (.cancelling, .fail, .failed, .finish),
        (.cancelling, .runnerStopped, .cancelled, .finish),
        (.cancelling, .restart, .cancelled, .finish),
    ]
    let allEvents: [E] = [.start, .shotFinished(1), .cancel, .succeed, .fail, .runnerStopped, .restart]

    func testEveryLegalEdge_MovesToTheDrawnStatusAndReturnsItsAction() throws {
        for (from, event, to, action) in legal {
            var s = JobState(status: from)
            let got = try s.handle(event)
            XCTAssertEqual(s.status, to, "\(from) --\(event)-->")
            XCTAssertEqual(got, action, "\(from) --\(event)-->")
        }
    }

    func testEveryOtherEdge_ThrowsAndLeavesTheStateUnchanged() {
        var illegalCount = 0
        for from in JobStatus.allCases {
            for event in allEvents where !legal.contains(where: { $0.0 == from && $0.1 == event }) {
                var s = JobState(status: from, attempt: 2, finishedShots: 0)
                let before = s
                XCTAssertThrowsError(try s.handle(event), "\(from) --\(event)--> should be illegal") { error in
                    XCTAssertEqual(error as? JobTransitionError, JobTransitionError(from: from, event: event))
                }
                XCTAssertEqual(s, before)
                illegalCount += 1
            }
        }
        XCTAssertEqual(illegalCount, 6 * 7 - legal.count)
    }

    func testTerminalStatuses_AcceptNoEventAtAll() {
        for from in JobStatus.allCases where from.isTerminal {
            for event in allEvents {
                var s = JobState(status: from)
                XCTAssertThrowsError(try s.handle(event))
            }
        }
    }

    func testRestartWhileRunning_RequeuesWithNextAttemptAndResumesAfterLastFinishedShot() throws {
        var s = JobState()
        XCTAssertEqual(try s.handle(.start), .run(resumeAfterShot: 0))
        _ = try s.handle(.shotFinished(1))
        _ = try s.handle(.shotFinished(2))
        XCTAssertEqual(try s.handle(.restart), .enqueue)
        XCTAssertEqual(s.status, .queued)
        XCTAssertEqual(s.attempt, 2)
        XCTAssertEqual(try s.handle(.start), .run(resumeAfterShot: 2))
    }

    func testShotFinished_OutOfOrder_IsIllegal() throws {
        var s = JobState(status: .running)
        XCTAssertThrowsError(try s.handle(.shotFinished(2)))
        _ = try s.handle(.shotFinished(1))
        XCTAssertThrowsError(try s.handle(.shotFinished(1)))
        XCTAssertEqual(s.finishedShots, 1)
    }

    func testState_RoundTripsThroughJSON() throws {
        var s = JobState()
        _ = try s.handle(.start)
        _ = try s.handle(.shotFinished(1))
        let back = try JSONDecoder().decode(JobState.self, from: JSONEncoder().encode(s))
        XCTAssertEqual(back, s)
    }
}
