import XCTest
@testable import Pruning

final class PruneRequestValidationTests: XCTestCase {
    func base() -> PruneRequest {
        PruneRequest(model: "/nonexistent/model.gguf", sparsity: 0.3, calibration: "/nonexistent/calib.txt")
    }

    func testValidate_ListsEveryBadFieldAtOnce() {
        var r = base()
        r.sparsity = 1.2; r.shots = 0; r.samples = 0; r.dampG = -1
        XCTAssertThrowsError(try r.validate(checkFiles: true)) { error in
            let e = error as! PruneRequest.Invalid
            XCTAssertTrue(e.errors.contains { $0.hasPrefix("sparsity:") })
            XCTAssertTrue(e.errors.contains { $0.hasPrefix("shots:") })
            XCTAssertTrue(e.errors.contains { $0.hasPrefix("samples:") })
            XCTAssertTrue(e.errors.contains { $0.hasPrefix("damp_g:") })
            XCTAssertTrue(e.errors.contains { $0.hasPrefix("model:") })
            XCTAssertTrue(e.errors.contains { $0.hasPrefix("calibration:") })
        }
    }

    func testValidate_RejectsZeroAndOneSparsity() {
        for s in [0.0, 1.0, -0.1, .nan] {
            var r = base(); r.sparsity = s
            XCTAssertThrowsError(try r.validate(checkFiles: false), "sparsity \(s)")
        }
    }

    func testValidate_RejectsWandaStructured_AndNonHalf24() {
        var r = base(); r.method = .wanda; r.structure = .structured
        XCTAssertThrowsError(try r.validate(checkFiles: false))
        r = base(); r.structure = .semi24; r.sparsity = 0.3
        XCTAssertThrowsError(try r.validate(checkFiles: false))
        r.sparsity = 0.5
        XCTAssertNoThrow(try r.validate(checkFiles: false))
    }

    func testDecoding_FillsDefaults_AndReadsUpdateOrder() throws {
        let json = #"{"model":"m.gguf","sparsity":0.2,"calibration":"c.txt","update_order":"sequential"}"#
        let r = try JSONDecoder().decode(PruneRequest.self, from: Data(json.utf8))
        XCTAssertEqual(r.shots, 6); XCTAssertEqual(r.samples, 16); XCTAssertEqual(r.seed, 100)
        XCTAssertEqual(r.structure, .structured); XCTAssertEqual(r.structuredOrder, .sequential)
        let back = try JSONDecoder().decode(PruneRequest.self, from: JSONEncoder().encode(r))
        XCTAssertEqual(back, r)
    }
}
