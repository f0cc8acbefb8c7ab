import Foundation
import HTTP
import Jobs
import Pruning
import XCTest
@testable import Service

/// Issue 16 item 7: what cannot be encoded is never answered with a made-up body, and a diverged prune's report
/// (NaN perplexity) still encodes.
final class ResponseEncodingTests: XCTestCase {
    /// Before: `Reply.json` sent `{}` with the handler's status when encoding failed.
    func testAValueJSONCannotHold_IsA500Problem() throws {
        let r = Reply.json(200, ["perplexity": Double.nan])
        XCTAssertEqual(r.status, 500)
        XCTAssertEqual(r.headers["Content-Type"], "application/problem+json")
        XCTAssertEqual(r.json["code"] as? String, "internal_error")
        XCTAssertTrue((r.json["detail"] as? String ?? "").contains("could not be encoded as JSON"), r.text)
    }

    /// A report with NaN and infinite figures encodes them as `null` and decodes them back as nil.
    func testReportWithNaNPerplexity_EncodesAsNull() throws {
        let request = PruneRequest(model: "m.gguf", sparsity: 0.5, calibration: "c.txt")
        var report = PruneReport(request: request, prunableParameters: 10, removedParameters: 5, parametersBefore: 10, parametersAfter: 5,
                                 perplexityBefore: 20, perplexityAfter: .nan, evaluation: nil, layers: [],
                                 shots: [.init(shot: 1, targetSparsity: 0.5, achievedSparsity: 0.5, perplexity: .infinity, seconds: [:],
                                               calibrationLoss: .nan)],
                                 seconds: [:], peakRSSBytes: nil, artifacts: [])
        report.calibrationLossAfter = -.infinity
        let data = try JobCoding.encoder().encode(report)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertTrue(json["perplexity_after"] is NSNull)
        XCTAssertEqual(json["perplexity_before"] as? Double, 20)
        XCTAssertTrue(json["calibration_loss_after"] is NSNull)
        let shot = try XCTUnwrap((json["shots"] as? [[String: Any]])?.first)
        XCTAssertTrue(shot["perplexity"] is NSNull)
        XCTAssertTrue(shot["calibration_loss"] is NSNull)
        XCTAssertNil(shot["predicted_increase"], "not measured: absent")
        let back = try JobCoding.decoder().decode(PruneReport.self, from: data)
        XCTAssertNil(back.perplexityAfter)
        XCTAssertNil(back.shots[0].perplexity)
        XCTAssertEqual(back.perplexityBefore, 20)
    }

    /// The job of a diverged prune is served (200) with its report's perplexity `null`.
    func testJobWhoseReportHasNaN_IsServed() throws {
        struct Diverging: PruneRunner {
            func run(_ request: PruneRequest, outputDirectory: URL, progress: @escaping @Sendable (PruneProgress) -> Void,
                     isCancelled: @escaping @Sendable () -> Bool) throws -> PruneReport {
                var r = try SimulatedPruneRunner(layers: 1).run(request, outputDirectory: outputDirectory, progress: progress, isCancelled: isCancelled)
                r.perplexityAfter = .nan
                return r
            }
        }
        let h = try ServiceHarness(runner: Diverging())
        h.seedInputs()
        let id = try h.submit()
        XCTAssertTrue(h.service.manager.waitUntilIdle(timeout: 30))
        let r = h.send("GET", "/v1/jobs/\(id)", auth: h.alice)
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertTrue((r.json["result"] as? [String: Any])?["perplexity_after"] is NSNull, r.text)
    }
}
