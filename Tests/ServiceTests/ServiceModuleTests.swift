import XCTest
@testable import Service

final class ServiceModuleTests: XCTestCase {
    func testModule_Builds() { XCTAssertTrue(true) }
}
