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
        (.running, .crashed(maxRetries: 2), .queued, .enqueue),
        (.cancelling, .shotFinished(1), .cancelling, .none),
        (.cancelling, .cancel, .cancelling, .none),
        (.cancelling, .succeed, .succeeded, .finish),
        (.cancelling, .fail, .failed, .finish),
        (.cancelling, .runnerStopped, .cancelled, .finish),
        (.cancelling, .restart, .cancelled, .finish),
        (.cancelling, .crashed(maxRetries: 2), .cancelled, .finish),
    ]
    let allEvents: [E] = [.start, .shotFinished(1), .cancel, .succeed, .fail, .runnerStopped, .restart, .crashed(maxRetries: 2)]

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
        XCTAssertEqual(illegalCount, 6 * allEvents.count - legal.count)
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

    func testCrashWhileRunning_RequeuesWithNextAttemptUntilTheRetriesAreSpentThenFails() throws {
        var s = JobState()
        _ = try s.handle(.start)
        _ = try s.handle(.shotFinished(1))
        XCTAssertEqual(try s.handle(.crashed(maxRetries: 2)), .enqueue)
        XCTAssertEqual(s, JobState(status: .queued, attempt: 2, finishedShots: 1, crashes: 1))
        XCTAssertEqual(try s.handle(.start), .run(resumeAfterShot: 1))
        _ = try s.handle(.shotFinished(2))
        XCTAssertEqual(try s.handle(.crashed(maxRetries: 2)), .enqueue)
        XCTAssertEqual(s, JobState(status: .queued, attempt: 3, finishedShots: 2, crashes: 2))
        XCTAssertEqual(try s.handle(.start), .run(resumeAfterShot: 2))
        XCTAssertEqual(try s.handle(.crashed(maxRetries: 2)), .finish, "the third crash has no retry left")
        XCTAssertEqual(s, JobState(status: .failed, attempt: 3, finishedShots: 2, crashes: 2))
    }

    func testCrash_WithNoRetries_FailsAtOnce() throws {
        var s = JobState(status: .running)
        XCTAssertEqual(try s.handle(.crashed(maxRetries: 0)), .finish)
        XCTAssertEqual(s, JobState(status: .failed, attempt: 1, finishedShots: 0, crashes: 0))
    }

    func testServiceRestart_DoesNotSpendCrashRetries() throws {
        var s = JobState()
        _ = try s.handle(.start)
        _ = try s.handle(.restart)
        _ = try s.handle(.start)
        XCTAssertEqual(try s.handle(.crashed(maxRetries: 1)), .enqueue, "attempt 2 came from a restart, not a crash")
        XCTAssertEqual(s.attempt, 3)
        XCTAssertEqual(s.crashes, 1)
    }

    func testStateJSONWithoutCrashes_DecodesWithNone() throws {
        let old = Data(#"{"status":"running","attempt":2,"finishedShots":1}"#.utf8)
        XCTAssertEqual(try JSONDecoder().decode(JobState.self, from: old), JobState(status: .running, attempt: 2, finishedShots: 1, crashes: 0))
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
        _ = try s.handle(.crashed(maxRetries: 2))
        let back = try JSONDecoder().decode(JobState.self, from: JSONEncoder().encode(s))
        XCTAssertEqual(back, s)
    }
}
