import Foundation
import XCTest
@testable import HTTP

final class SignalTrapTests: XCTestCase {
    func testInstalledTrap_CallsTheClosureWithTheSignal() {
        let received = Recorder<Int32>()
        let got = DispatchSemaphore(value: 0)
        let trap = SignalTrap.install([SIGUSR2]) { sig in received.append(sig); got.signal() }
        defer { trap.cancel() }
        kill(getpid(), SIGUSR2)
        XCTAssertEqual(got.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(received.all, [SIGUSR2])
    }
}
