import XCTest
@testable import HTTP

final class HTTPModuleTests: XCTestCase {
    func testModule_Builds() { XCTAssertTrue(true) }
}
