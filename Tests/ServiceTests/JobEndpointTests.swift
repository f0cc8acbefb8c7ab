import Foundation
import HTTP
import Jobs
import XCTest
@testable import Service

final class JobEndpointTests: XCTestCase {
    func testCreate_Is201WithLocationRetryAfterAndQueuedJob() throws {
        let h = try ServiceHarness(start: false)
        h.seedInputs()
        let r = h.send("POST", "/v1/jobs", auth: h.alice, json: #"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.3}"#)
        XCTAssertEqual(r.status, 201)
        let id = try XCTUnwrap(r.json["id"] as? String)
        XCTAssertEqual(r.headers["Location"], "/v1/jobs/\(id)")
        XCTAssertNotNil(r.headers["Retry-After"])
        XCTAssertEqual(r.json["status"] as? String, "queued")
        XCTAssertEqual(r.json["done"] as? Bool, false)
        XCTAssertEqual(r.json["queue_position"] as? Int, 1)
        XCTAssertEqual((r.json["request"] as? [String: Any])?["model"] as? String, "m.gguf", "names, not server paths")
        XCTAssertNotNil(JobCoding.parseRFC3339(r.json["created_at"] as? String ?? ""))
    }

    func testInvalidBody_ListsEveryFieldError() throws {
        let h = try ServiceHarness(start: false)
        h.seedInputs()
        let r = h.send("POST", "/v1/jobs", auth: h.alice,
                       json: #"{"model":"nope.gguf","calibration":"../x","sparsity":1.5,"shots":0,"structure":"cubes","extra":true,"seqlen":"long"}"#)
        XCTAssertEqual(r.status, 422)
        XCTAssertEqual(r.json["code"] as? String, "validation_failed")
        let pointers = Set((r.json["errors"] as? [[String: Any]] ?? []).compactMap { $0["pointer"] as? String })
        XCTAssertEqual(pointers, ["/calibration", "/sparsity", "/shots", "/structure", "/extra", "/seqlen"])
        let missing = h.send("POST", "/v1/jobs", auth: h.alice, json: #"{"model":"nope.gguf","calibration":"cal.txt","sparsity":0.5}"#)
        XCTAssertEqual((missing.json["errors"] as? [[String: Any]])?.first?["pointer"] as? String, "/model")
        XCTAssertEqual(h.send("POST", "/v1/jobs", auth: h.alice, json: "{not json").json["code"] as? String, "invalid_json")
        XCTAssertEqual(h.send("POST", "/v1/jobs", auth: h.alice, json: "[1]").status, 400)
        XCTAssertEqual(h.send("POST", "/v1/jobs", auth: h.alice, json: #"{"model":"m.gguf","calibration":"cal.txt","sparsity":true}"#).status, 422)
    }

    func testIdempotencyKey_ReplaysSameBodyAndRefusesAnotherBody() throws {
        let h = try ServiceHarness(start: false)
        h.seedInputs()
        let body = #"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.3}"#
        let first = h.send("POST", "/v1/jobs", auth: h.alice, headers: [("Idempotency-Key", "abc")], json: body)
        let again = h.send("POST", "/v1/jobs", auth: h.alice, headers: [("Idempotency-Key", "abc")], json: body)
        XCTAssertEqual(first.status, 201)
        XCTAssertEqual(again.status, 201)
        XCTAssertEqual(again.json["id"] as? String, first.json["id"] as? String)
        XCTAssertEqual(again.headers["Idempotent-Replayed"], "true")
        let other = h.send("POST", "/v1/jobs", auth: h.alice, headers: [("Idempotency-Key", "abc")],
                           json: #"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.4}"#)
        XCTAssertEqual(other.status, 422)
        XCTAssertEqual(other.json["code"] as? String, "idempotency_key_reused")
        XCTAssertEqual((h.send("GET", "/v1/jobs", auth: h.alice).json["data"] as? [Any])?.count, 1)
    }

    func testKeyStillInFlight_Is409() throws {
        let h = try ServiceHarness(start: false)
        h.seedInputs()
        XCTAssertTrue(h.service.claim("alice\u{0}busy"))
        let r = h.send("POST", "/v1/jobs", auth: h.alice, headers: [("Idempotency-Key", "busy")],
                       json: #"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.3}"#)
        XCTAssertEqual(r.status, 409)
        XCTAssertEqual(r.json["code"] as? String, "idempotency_key_in_flight")
    }

    func testOverMemoryLimit_Is422ShowingTheEstimate() throws {
        let h = try ServiceHarness(configure: { $0.maxJobMemoryBytes = 1000 }, start: false)
        h.seedInputs()
        let r = h.send("POST", "/v1/jobs", auth: h.alice, json: #"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.3}"#)
        XCTAssertEqual(r.status, 422)
        XCTAssertEqual(r.json["code"] as? String, "memory_limit_exceeded")
        XCTAssertGreaterThan(r.json["memory_estimate_bytes"] as? Int ?? 0, 1000)
        XCTAssertEqual(r.json["memory_limit_bytes"] as? Int, 1000)
    }

    func testFullQueue_Is429WithRetryAfter() throws {
        let h = try ServiceHarness(queueCapacity: 1, start: false)
        h.seedInputs()
        _ = try h.submit()
        let r = h.send("POST", "/v1/jobs", auth: h.alice, json: #"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.3}"#)
        XCTAssertEqual(r.status, 429)
        XCTAssertEqual(r.headers["Retry-After"], "5")
    }

    func testList_PagesWithCursor() throws {
        let h = try ServiceHarness(start: false)
        h.seedInputs()
        var ids: [String] = []
        for _ in 0..<5 { ids.append(try h.submit()) }
        var seen: [String] = []
        var target = "/v1/jobs?limit=2"
        for _ in 0..<5 {
            let r = h.send("GET", target, auth: h.alice)
            XCTAssertEqual(r.status, 200)
            seen += (r.json["data"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            guard r.json["has_more"] as? Bool == true, let next = r.json["next_cursor"] as? String else { break }
            target = "/v1/jobs?limit=2&after=\(next)"
        }
        XCTAssertEqual(seen, ids.reversed())
        XCTAssertEqual(h.send("GET", "/v1/jobs?limit=0", auth: h.alice).status, 400)
        XCTAssertEqual(h.send("GET", "/v1/jobs?after=../x", auth: h.alice).status, 400)
    }

    func testCancelQueued_Is202Cancelled_ThenTerminal409_DeleteThen404() throws {
        let h = try ServiceHarness(start: false)
        h.seedInputs()
        let id = try h.submit()
        XCTAssertEqual(h.send("DELETE", "/v1/jobs/\(id)", auth: h.alice).json["code"] as? String, "job_not_terminal")
        let c = h.send("POST", "/v1/jobs/\(id)/cancel", auth: h.alice)
        XCTAssertEqual(c.status, 202)
        XCTAssertEqual(c.json["status"] as? String, "cancelled")
        let again = h.send("POST", "/v1/jobs/\(id)/cancel", auth: h.alice)
        XCTAssertEqual(again.status, 409)
        XCTAssertEqual(again.json["code"] as? String, "job_not_cancellable")
        XCTAssertNil(h.send("GET", "/v1/jobs/\(id)", auth: h.alice).headers["Retry-After"], "no polling hint once terminal")
        XCTAssertEqual(h.send("DELETE", "/v1/jobs/\(id)", auth: h.alice).status, 204)
        XCTAssertEqual(h.send("GET", "/v1/jobs/\(id)", auth: h.alice).status, 404)
    }

    func testCancelRunning_Is202Cancelling_Repeated202_EndsCancelled() throws {
        let gate = Gate(shot: 2)
        let h = try ServiceHarness(runner: .init(layers: 2, onLayer: gate.hook))
        h.seedInputs()
        let id = try h.submit()
        gate.reached.wait()
        let running = h.send("GET", "/v1/jobs/\(id)", auth: h.alice)
        XCTAssertEqual(running.json["status"] as? String, "running")
        XCTAssertEqual((running.json["progress"] as? [String: Any])?["shot"] as? Int, 1)
        XCTAssertEqual(h.send("POST", "/v1/jobs/\(id)/cancel", auth: h.alice).json["status"] as? String, "cancelling")
        let repeated = h.send("POST", "/v1/jobs/\(id)/cancel", auth: h.alice)
        XCTAssertEqual(repeated.status, 202)
        XCTAssertEqual(repeated.json["status"] as? String, "cancelling")
        XCTAssertEqual(h.send("DELETE", "/v1/jobs/\(id)", auth: h.alice).status, 409)
        gate.release.signal()
        XCTAssertTrue(h.service.manager.waitUntilIdle(timeout: 10))
        XCTAssertEqual(h.send("GET", "/v1/jobs/\(id)", auth: h.alice).json["status"] as? String, "cancelled")
    }

    func testFinishedJob_ShowsResultCheckpointsAndCancelIs409() throws {
        let h = try ServiceHarness()
        h.seedInputs()
        let id = try h.submit()
        XCTAssertTrue(h.service.manager.waitUntilIdle(timeout: 10))
        let r = h.send("GET", "/v1/jobs/\(id)", auth: h.alice)
        XCTAssertEqual(r.json["status"] as? String, "succeeded")
        XCTAssertEqual(r.json["done"] as? Bool, true)
        let result = try XCTUnwrap(r.json["result"] as? [String: Any])
        XCTAssertEqual((result["request"] as? [String: Any])?["model"] as? String, "m.gguf")
        XCTAssertNotNil(result["achieved_sparsity"])
        XCTAssertEqual(h.send("POST", "/v1/jobs/\(id)/cancel", auth: h.alice).status, 409)
        let cps = h.send("GET", "/v1/jobs/\(id)/checkpoints", auth: h.alice).json["data"] as? [[String: Any]] ?? []
        XCTAssertEqual(cps.compactMap { $0["shot"] as? Int }, [1, 2])
        XCTAssertEqual(cps.first?["files"] as? [String], ["checkpoint.json", "model.bin"])
    }

    func testFailedJob_ShowsErrorCodeAndPhase() throws {
        let h = try ServiceHarness(runner: .init(layers: 2, failAtShot: 2))
        h.seedInputs()
        let id = try h.submit()
        XCTAssertTrue(h.service.manager.waitUntilIdle(timeout: 10))
        let r = h.send("GET", "/v1/jobs/\(id)", auth: h.alice)
        XCTAssertEqual(r.json["status"] as? String, "failed")
        XCTAssertEqual((r.json["error"] as? [String: Any])?["code"] as? String, "runner_error")
    }
}

/// Holds a runner at one (shot, layer) until released.
final class Gate: @unchecked Sendable {
    let reached = DispatchSemaphore(value: 0)
    let release = DispatchSemaphore(value: 0)
    let shot: Int, layer: Int
    init(shot: Int, layer: Int = 1) { self.shot = shot; self.layer = layer }
    func hook(_ s: Int, _ l: Int) { if s == shot && l == layer { reached.signal(); release.wait() } }
}
