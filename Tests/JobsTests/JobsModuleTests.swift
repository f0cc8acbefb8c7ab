import XCTest
@testable import Jobs

final class JobsModuleTests: XCTestCase {
    func testModule_Builds() { XCTAssertTrue(true) }
}
