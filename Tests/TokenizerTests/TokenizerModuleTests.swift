import XCTest
@testable import Tokenizer

final class TokenizerModuleTests: XCTestCase {
    func testModule_Builds() { XCTAssertTrue(true) }
}
