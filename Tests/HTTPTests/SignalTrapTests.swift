import Foundation
import XCTest
@testable import HTTP

final class SignalTrapTests: XCTestCase {
    func testInstalledTrap_CallsTheClosureWithTheSignal() {
        let received = Recorder<Int32>()
        let got = DispatchSemaphore(value: 0)
        let trap = SignalTrap.install([SIGUSR2]) { sig in received.append(sig); got.signal() }
        defer { trap.cancel() }
        // The source registers asynchronously; a signal raised before that is ignored, so retry.
        var delivered = false
        for _ in 0..<50 where !delivered {
            kill(getpid(), SIGUSR2)
            delivered = got.wait(timeout: .now() + 0.1) == .success
        }
        XCTAssertTrue(delivered)
        XCTAssertEqual(received.all.first, SIGUSR2)
    }
}
