import XCTest
@testable import Checkpoint

final class CheckpointModuleTests: XCTestCase {
    func testModule_Builds() { XCTAssertTrue(true) }
}
