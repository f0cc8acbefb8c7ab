import XCTest
@testable import HTTP

final class PercentDecodingTests: XCTestCase {
    func testPercentDecoded_DecodesEscapesAndUTF8() {
        XCTAssertEqual("a%20b".percentDecoded(), "a b")
        XCTAssertEqual("caf%C3%A9".percentDecoded(), "café")
        XCTAssertEqual("a+b".percentDecoded(), "a+b")
        XCTAssertEqual("a+b".percentDecoded(plusAsSpace: true), "a b")
        XCTAssertNil("bad%2".percentDecoded())
        XCTAssertNil("bad%zz".percentDecoded())
        XCTAssertNil("%FF".percentDecoded(), "not UTF-8")
    }

    func testSplit_SeparatesPathAndQuery() throws {
        let (path, query) = try XCTUnwrap(HTTPRequestTarget.split("/v1/jobs/a%2Fb?limit=10&after=job_1&flag&x=a%3Db#frag"))
        XCTAssertEqual(path, "/v1/jobs/a/b")
        XCTAssertEqual(query.map(\.name), ["limit", "after", "flag", "x"])
        XCTAssertEqual(query.map(\.value), ["10", "job_1", "", "a=b"])
        XCTAssertEqual(HTTPRequestTarget.split("http://host:8080/p?q=1")?.path, "/p")
        XCTAssertEqual(HTTPRequestTarget.split("*")?.path, "*")
    }

    func testHTTPDate_FormatsIMFFixdate() {
        XCTAssertEqual(HTTPDate.string(from: 784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT")
        XCTAssertEqual(HTTPDate.now().count, 29)
    }
}
