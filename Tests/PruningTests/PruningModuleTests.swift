import XCTest
@testable import Pruning

final class PruningModuleTests: XCTestCase {
    func testModule_Builds() { XCTAssertTrue(true) }
}
