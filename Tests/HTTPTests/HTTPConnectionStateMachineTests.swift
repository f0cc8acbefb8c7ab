import XCTest
@testable import HTTP

final class HTTPConnectionStateMachineTests: XCTestCase {
    private let timeouts = HTTPConnectionStateMachine.Timeouts(headerRead: 5, idle: 30, bodyRead: 10)

    func testIdleConnection_ClosesSilentlyAfterIdleTimeout() {
        let clock = MockClock()
        var sm = HTTPConnectionStateMachine(timeouts: timeouts, now: clock.now())
        XCTAssertEqual(sm.deadline(), clock.now() + 30)
        clock.advance(29)
        XCTAssertEqual(sm.timedOut(now: clock.now()), .none)
        clock.advance(1)
        XCTAssertEqual(sm.timedOut(now: clock.now()), .close)
        XCTAssertEqual(sm.state, .closed)
    }

    func testTricklingHeaders_DoNotExtendTheHeaderDeadline() {
        let clock = MockClock()
        var sm = HTTPConnectionStateMachine(timeouts: timeouts, now: clock.now())
        sm.bytesReceived(now: clock.now())
        let deadline = sm.deadline()
        for _ in 0..<4 { clock.advance(1); sm.bytesReceived(now: clock.now()) }
        XCTAssertEqual(sm.deadline(), deadline)
        clock.advance(1)
        XCTAssertEqual(sm.timedOut(now: clock.now()), .respondAndClose(status: 408))
    }

    func testBodyTimeout_IsPerReadInactivity() {
        let clock = MockClock()
        var sm = HTTPConnectionStateMachine(timeouts: timeouts, now: clock.now())
        sm.bytesReceived(now: clock.now())
        sm.headReceived()
        XCTAssertNil(sm.deadline(), "no timeout while the handler runs")
        clock.advance(100)
        sm.bodyWaitStarted(now: clock.now())
        clock.advance(9); sm.bytesReceived(now: clock.now())
        clock.advance(9)
        XCTAssertEqual(sm.timedOut(now: clock.now()), .none)
        clock.advance(1)
        XCTAssertEqual(sm.timedOut(now: clock.now()), .close)
    }

    func testKeepAlive_ReturnsToIdle_UnlessStopping() {
        let clock = MockClock()
        var sm = HTTPConnectionStateMachine(timeouts: timeouts, now: clock.now())
        sm.bytesReceived(now: clock.now()); sm.headReceived()
        XCTAssertEqual(sm.responseSent(now: clock.now(), keepAlive: true), .none)
        XCTAssertEqual(sm.state, .idle(since: clock.now()))
        sm.bytesReceived(now: clock.now()); sm.headReceived()
        XCTAssertEqual(sm.stop(), .none, "busy connections finish their request")
        XCTAssertFalse(sm.mayKeepAlive(requested: true))
        XCTAssertEqual(sm.responseSent(now: clock.now(), keepAlive: true), .close)
    }

    func testStop_ClosesIdleConnectionsImmediately() {
        var sm = HTTPConnectionStateMachine(timeouts: timeouts, now: 0)
        XCTAssertEqual(sm.stop(), .close)
    }

    func testTokenBucket_AllowsBurstThenAsksToWait() {
        var bucket = TokenBucket(capacity: 3, ratePerSecond: 1, now: 0)
        XCTAssertNil(bucket.take(now: 0)); XCTAssertNil(bucket.take(now: 0)); XCTAssertNil(bucket.take(now: 0))
        XCTAssertEqual(bucket.take(now: 0) ?? 0, 1, accuracy: 1e-9)
        XCTAssertNil(bucket.take(now: 1.0))
        XCTAssertNotNil(bucket.take(now: 1.5))
    }

    func testRateLimiter_TracksClientsSeparately() {
        let clock = MockClock()
        let limiter = HTTPRateLimiter(policy: .init(requestsPerSecond: 2, burst: 2), clock: clock)
        XCTAssertNil(limiter.admit("a")); XCTAssertNil(limiter.admit("a"))
        XCTAssertEqual(limiter.admit("a"), 1)
        XCTAssertNil(limiter.admit("b"))
        clock.advance(0.5)
        XCTAssertNil(limiter.admit("a"))
        XCTAssertEqual(limiter.trackedClients, 2)
    }
}
