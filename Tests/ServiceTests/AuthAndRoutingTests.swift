import XCTest
@testable import Service

final class AuthAndRoutingTests: XCTestCase {
    func testMissingToken_Is401WithBearerChallengeAsProblem() throws {
        let h = try ServiceHarness()
        let r = h.send("GET", "/v1/jobs")
        XCTAssertEqual(r.status, 401)
        XCTAssertEqual(r.headers["WWW-Authenticate"], "Bearer realm=\"surgeon\"")
        XCTAssertEqual(r.headers["Content-Type"], "application/problem+json")
        XCTAssertEqual(r.json["type"] as? String, "urn:surgeon:problem:unauthorized")
        XCTAssertEqual(r.json["instance"] as? String, "/v1/jobs")
        XCTAssertEqual(r.json["status"] as? Int, 401)
    }

    func testUnknownToken_Is401InvalidToken() throws {
        let h = try ServiceHarness()
        let r = h.send("GET", "/v1/models", auth: "Bearer nope")
        XCTAssertEqual(r.status, 401)
        XCTAssertTrue(r.headers["WWW-Authenticate"]?.contains("invalid_token") ?? false)
    }

    func testHealthAndReadiness_NeedNoToken() throws {
        let h = try ServiceHarness()
        XCTAssertEqual(h.send("GET", "/healthz").status, 200)
        XCTAssertEqual(h.send("GET", "/readyz").status, 200)
    }

    func testUnknownRoute_Is404AndWrongMethod_Is405WithAllow() throws {
        let h = try ServiceHarness()
        XCTAssertEqual(h.send("GET", "/v2/nothing", auth: h.alice).json["code"] as? String, "route_not_found")
        let r = h.send("PATCH", "/v1/jobs", auth: h.alice)
        XCTAssertEqual(r.status, 405)
        XCTAssertEqual(r.headers["Allow"], "GET, POST")
    }

    func testAnotherOwnersJobAndModel_Are404() throws {
        let h = try ServiceHarness(start: false)
        h.seedInputs()
        let id = try h.submit()
        XCTAssertEqual(h.send("GET", "/v1/jobs/\(id)", auth: h.alice).status, 200)
        XCTAssertEqual(h.send("GET", "/v1/jobs/\(id)", auth: h.bob).status, 404)
        XCTAssertEqual(h.send("POST", "/v1/jobs/\(id)/cancel", auth: h.bob).status, 404)
        XCTAssertEqual(h.send("GET", "/v1/models/m.gguf", auth: h.bob).status, 404)
        XCTAssertEqual((h.send("GET", "/v1/jobs", auth: h.bob).json["data"] as? [Any])?.count, 0)
        // Bob cannot submit against Alice's model either.
        let r = h.send("POST", "/v1/jobs", auth: h.bob, json: #"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.3}"#)
        XCTAssertEqual(r.status, 422)
    }

    func testMetrics_CountRequestsByRouteAndJobsByStatus() throws {
        let h = try ServiceHarness()
        _ = h.send("GET", "/healthz")
        _ = h.send("GET", "/v1/jobs")
        let text = h.send("GET", "/metrics").text
        XCTAssertTrue(text.contains("surgeon_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 1"))
        XCTAssertTrue(text.contains("surgeon_http_requests_total{route=\"/v1/jobs\",method=\"GET\",status=\"401\"} 1"))
        XCTAssertTrue(text.contains("surgeon_jobs{status=\"queued\"} 0"))
        XCTAssertTrue(text.contains("surgeon_queue_depth 0"))
        XCTAssertTrue(text.contains("surgeon_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 1"))
    }
}
