import Foundation
import HTTP
import Jobs
import Pruning
import XCTest
@testable import Service

/// Issue 16 item 6: nothing a client sees names a server path (or, through a path, an owner), and a refused
/// registration path gets one answer whether it exists or not.
final class InformationLeakTests: XCTestCase {
    /// A runner that talks about server paths the way the real engine does: progress messages naming the
    /// model and the output directory, an evaluation protocol naming the eval text, `report.json` with the
    /// resolved request. `sparsity 0.7` runs the real engine on a model that is not one (it fails loading it
    /// and says where); `sparsity 0.6` crashes (retryable) naming its output directory.
    struct TalkativeRunner: PruneRunner {
        struct Crash: RetryableRunnerError, CustomStringConvertible {
            var path: String
            var description: String { "worker died writing \(path)/checkpoints/shot-1.tmp" }
        }

        func run(_ request: PruneRequest, outputDirectory: URL, progress: @escaping @Sendable (PruneProgress) -> Void,
                 isCancelled: @escaping @Sendable () -> Bool) throws -> PruneReport {
            if request.sparsity == 0.7 {
                return try RealPruneRunner(echo: nil).run(request, outputDirectory: outputDirectory, progress: progress, isCancelled: isCancelled)
            }
            if request.sparsity == 0.6 { throw Crash(path: outputDirectory.path) }
            let talk: @Sendable (PruneProgress) -> Void = { p in
                var p = p
                p.message = "loading \(request.model) into \(outputDirectory.path): \(p.message)"
                progress(p)
            }
            var report = try SimulatedPruneRunner(layers: 2).run(request, outputDirectory: outputDirectory, progress: talk, isCancelled: isCancelled)
            report.evaluation = "all windows × 64 tokens of \(request.eval ?? request.calibration)"
            return report
        }
    }

    func testEndToEnd_NoResponseBodyOrEventNamesAServerPath() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-leak-root-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try Data(String(repeating: "held out evaluation text ", count: 40).utf8).write(to: root.appendingPathComponent("eval.txt"))
        let h = try ServiceHarness(runner: TalkativeRunner(), configure: { $0.allowedRoots = [root.path]; $0.jobCrashRetries = 1 })
        var bodies: [(String, String)] = []
        func send(_ method: String, _ target: String, json: String? = nil, body: [UInt8] = [], auth: Bool = true) -> HTTPResponse {
            let r = json.map { h.send(method, target, auth: auth ? h.alice : nil, json: $0) }
                ?? h.send(method, target, auth: auth ? h.alice : nil, body: body)
            bodies.append(("\(method) \(target) → \(r.status)", r.text))
            return r
        }

        h.seedInputs()
        XCTAssertEqual(send("POST", "/v1/texts", json: #"{"name":"eval.txt","path":"\#(root.path)/eval.txt"}"#).status, 201)
        XCTAssertEqual(send("POST", "/v1/models", json: #"{"name":"x.gguf","path":"\#(root.path)/missing.gguf"}"#).status, 403)
        let ok = try h.submit(#"{"model":"m.gguf","calibration":"cal.txt","eval":"eval.txt","sparsity":0.3,"shots":2}"#)
        let bad = try h.submit(#"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.7,"shots":1}"#)
        let crashed = try h.submit(#"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.6,"shots":1}"#)
        XCTAssertTrue(h.service.manager.waitUntilIdle(timeout: 60))
        XCTAssertEqual(try h.service.manager.job(ok)?.status, .succeeded)
        XCTAssertEqual(try h.service.manager.job(bad)?.status, .failed)
        XCTAssertEqual(try h.service.manager.job(crashed)?.status, .failed)
        let badJob = try XCTUnwrap(h.service.manager.job(bad))
        XCTAssertTrue(badJob.error?.message.contains("model \"m.gguf\"") ?? false, badJob.error?.message ?? "no error")

        for id in [ok, bad, crashed] {
            _ = send("GET", "/v1/jobs/\(id)")
            let events = send("GET", "/v1/jobs/\(id)/events?limit=100")
            if id == ok {  // the paths were there and are named now
                XCTAssertTrue(events.text.contains(#"loading model \"m.gguf\" into the job's output"#), events.text.prefix(800).description)
            }
            if id == crashed { XCTAssertTrue(events.text.contains("worker died writing the job's output/checkpoints"), events.text) }
            _ = send("GET", "/v1/jobs/\(id)/artifacts")
            _ = send("GET", "/v1/jobs/\(id)/checkpoints")
            let sse = h.send("GET", "/v1/jobs/\(id)/events", auth: h.alice, headers: [("Accept", "text/event-stream")])
            bodies.append(("SSE \(id)", sse.text))
        }
        let report = send("GET", "/v1/jobs/\(ok)/artifacts/report.json")
        XCTAssertEqual(report.status, 200)
        XCTAssertTrue(report.text.contains("eval \\\"eval.txt\\\"") || report.text.contains("eval \"eval.txt\""), report.text)
        _ = send("GET", "/v1/jobs")
        _ = send("GET", "/v1/models")
        _ = send("GET", "/v1/texts")
        _ = send("GET", "/v1/jobs/job_nope")
        _ = send("POST", "/v1/jobs", json: #"{"model":"nope.gguf","sparsity":2}"#)
        _ = send("GET", "/healthz", auth: false)
        _ = send("GET", "/metrics", auth: false)
        XCTAssertEqual(send("GET", "/readyz", auth: false).status, 200)
        h.service.models.failWritesAfterBytes = 10
        XCTAssertEqual(send("PUT", "/v1/models/full.gguf", body: Array(repeating: 3, count: 100)).status, 507)
        // The data directory's tmp replaced by a file: the readiness probe cannot be written.
        let tmp = h.dataDir.appendingPathComponent("tmp")
        try FileManager.default.removeItem(at: tmp)
        try Data("x".utf8).write(to: tmp)
        XCTAssertEqual(send("GET", "/readyz", auth: false).status, 503)

        let forbidden = [h.dataDir.path, h.dataDir.appendingPathComponent("models").path, root.path, "/tmp", "/work",
                         NSHomeDirectory(), FileManager.default.temporaryDirectory.path, "alice/"]
        for (what, body) in bodies {
            for path in forbidden where body.contains(path) {
                XCTFail("\(what) names \(path): \(body.prefix(600))")
            }
        }
        XCTAssertGreaterThan(bodies.count, 25)
    }

    /// Every refused registration path gets the same status and body: a file outside the roots, a path that
    /// does not exist (inside or outside), a directory, a symlink out of a root. Before, a missing path was
    /// 422 "… does not exist" and an existing one 403: an oracle for any file on the server.
    func testRefusedPaths_GetOneAnswerWhetherTheyExistOrNot() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-roots-\(UUID().uuidString)")
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-outside-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root); try? FileManager.default.removeItem(at: outside) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        try Data("secret".utf8).write(to: outside.appendingPathComponent("s.gguf"))
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("link.gguf").path,
                                                   withDestinationPath: outside.appendingPathComponent("s.gguf").path)
        let h = try ServiceHarness(configure: { $0.allowedRoots = [root.path] })
        let refused = [outside.appendingPathComponent("s.gguf").path, outside.appendingPathComponent("none.gguf").path,
                       "/etc/passwd", "/etc/no-such-file", root.appendingPathComponent("missing.gguf").path,
                       root.appendingPathComponent("sub").path, root.appendingPathComponent("link.gguf").path,
                       root.path + "/../" + outside.lastPathComponent + "/s.gguf"]
        var answers: [String: [String]] = [:]
        for path in refused {
            for kind in ["models", "texts"] {
                let r = h.send("POST", "/v1/\(kind)", auth: h.alice, json: #"{"name":"n.gguf","path":"\#(path)"}"#)
                answers["\(kind) \(r.status) \(r.text)", default: []].append(path)
            }
        }
        XCTAssertEqual(answers.count, 2, "one answer per route: \(answers.keys.sorted())")
        for key in answers.keys {
            XCTAssertTrue(key.hasPrefix("models 403 ") || key.hasPrefix("texts 403 "), key)
            XCTAssertTrue(key.contains("path_not_allowed"), key)
            XCTAssertFalse(key.contains(root.path) || key.contains(outside.path), key)
        }
    }
}
