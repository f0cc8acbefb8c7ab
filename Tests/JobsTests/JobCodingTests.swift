import Foundation
import XCTest
@testable import Jobs

final class JobCodingTests: XCTestCase {
    func testRFC3339_FormatsMillisecondsInUTCAndParsesItBack() {
        let date = Date(timeIntervalSince1970: 1_795_943_176.123_9)   // 2026-11-29T09:06:16.123Z
        XCTAssertEqual(JobCoding.rfc3339(date), "2026-11-29T09:06:16.123Z")
        XCTAssertEqual(JobCoding.rfc3339(Date(timeIntervalSince1970: 0)), "1970-01-01T00:00:00.000Z")
        let back = JobCoding.parseRFC3339("2026-11-29T09:06:16.123Z")
        XCTAssertEqual(back?.timeIntervalSince1970 ?? 0, 1_795_943_176.123, accuracy: 1e-6)
    }

    func testParseRFC3339_AcceptsOffsetsAndNoFractionAndRefusesGarbage() {
        XCTAssertEqual(JobCoding.parseRFC3339("2026-11-29T10:06:16+01:00")?.timeIntervalSince1970, 1_795_943_176)
        XCTAssertEqual(JobCoding.parseRFC3339("2026-11-29T09:06:16Z")?.timeIntervalSince1970, 1_795_943_176)
        for bad in ["", "2026-11-29", "2026-13-29T09:06:16Z", "2026-11-29T09:06:16", "2026-11-29T09:06:16.Z", "2026-11-29T09:06:16Zjunk"] {
            XCTAssertNil(JobCoding.parseRFC3339(bad), bad)
        }
    }
}
