import XCTest
@testable import HTTP

final class HTTPConnectionStateMachineTests: XCTestCase {
    private let timeouts = HTTPConnectionStateMachine.Timeouts(headerRead: 5, idle: 30, bodyRead: 10, firstByte: 30)

    func testNewConnection_ClosesAtTheFirstByteDeadline_ThenKeepAliveUsesTheIdleTimeout() {
        let clock = MockClock()
        let t = HTTPConnectionStateMachine.Timeouts(headerRead: 5, idle: 30, bodyRead: 10, firstByte: 2)
        var silent = HTTPConnectionStateMachine(timeouts: t, now: clock.now())
        XCTAssertEqual(silent.deadline(), clock.now() + 2)
        clock.advance(2)
        XCTAssertEqual(silent.timedOut(now: clock.now()), .close)

        var used = HTTPConnectionStateMachine(timeouts: t, now: clock.now())
        used.bytesReceived(now: clock.now(), count: 10); used.headReceived()
        XCTAssertEqual(used.responseSent(now: clock.now(), keepAlive: true), .none)
        XCTAssertEqual(used.deadline(), clock.now() + 30)
    }

    func testTrickledBody_EndsAtTheWholeBodyDeadline_AFairRateExtendsIt() {
        let clock = MockClock()
        let t = HTTPConnectionStateMachine.Timeouts(headerRead: 5, idle: 30, bodyRead: 10, bodyTotal: 20, minBodyBytesPerSecond: 100)
        var sm = HTTPConnectionStateMachine(timeouts: t, now: clock.now())
        sm.bytesReceived(now: clock.now()); sm.headReceived()
        sm.bodyWaitStarted(now: clock.now())
        // One byte every 5 s: each read is in time, the whole body is not.
        for _ in 0..<3 { clock.advance(5); sm.bytesReceived(now: clock.now(), count: 1) }
        clock.advance(4)
        XCTAssertEqual(sm.timedOut(now: clock.now()), .none)
        clock.advance(1.1)
        XCTAssertEqual(sm.timedOut(now: clock.now()), .close)

        // 1000 bytes every 5 s (200 B/s, above the 100 B/s minimum) stays alive past 20 s.
        var fair = HTTPConnectionStateMachine(timeouts: t, now: clock.now())
        fair.bytesReceived(now: clock.now()); fair.headReceived()
        fair.bodyWaitStarted(now: clock.now())
        for _ in 0..<8 {
            clock.advance(5); fair.bytesReceived(now: clock.now(), count: 1000)
            XCTAssertEqual(fair.timedOut(now: clock.now()), .none)
        }
        // The deadline starts again with the next request.
        fair.bodyWaitEnded()
        XCTAssertEqual(fair.responseSent(now: clock.now(), keepAlive: true), .none)
        fair.bytesReceived(now: clock.now()); fair.headReceived(); fair.bodyWaitStarted(now: clock.now())
        XCTAssertEqual(fair.deadline(), clock.now() + 10)
    }

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
