import XCTest
@testable import Model

final class ModelModuleTests: XCTestCase {
    func testModule_Builds() { XCTAssertTrue(true) }
}
