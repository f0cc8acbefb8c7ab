import Foundation
import HTTP
import Jobs
import Pruning
import XCTest
@testable import Service

/// An in-process service over the in-memory store (or, with `diskStore`, the real `DiskJobStore`) and the simulated
/// runner (or `runner`), with two tokens.
final class ServiceHarness {
    let dataDir: URL
    let service: SurgeonService
    let alice = "Bearer alice-token"
    let bob = "Bearer bob-token"

    convenience init(runner: SimulatedPruneRunner = SimulatedPruneRunner(layers: 2), workers: Int = 1, queueCapacity: Int = 16,
                     diskStore: Bool = false, configure: (inout ServiceConfig) -> Void = { _ in }, start: Bool = true) throws {
        try self.init(runner: runner as any PruneRunner, workers: workers, queueCapacity: queueCapacity, diskStore: diskStore,
                      configure: configure, start: start)
    }

    init(runner: any PruneRunner, workers: Int = 1, queueCapacity: Int = 16, diskStore: Bool = false,
         configure: (inout ServiceConfig) -> Void = { _ in }, start: Bool = true) throws {
        dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-svc-\(UUID().uuidString)")
        var config = ServiceConfig()
        config.dataDir = dataDir.path
        config.workers = workers
        config.queueCapacity = queueCapacity
        config.maxJobMemoryBytes = 1 << 40
        config.sseKeepaliveSeconds = 0.05
        config.tokens = [.init(name: "alice", sha256: SHA256.hex(of: Array("alice-token".utf8))),
                         .init(name: "bob", sha256: SHA256.hex(of: Array("bob-token".utf8)))]
        configure(&config)
        let jobs = dataDir.appendingPathComponent("jobs")
        let store: JobStore = diskStore ? try DiskJobStore(root: jobs) : MemoryJobStore(scratch: jobs)
        let manager = JobManager(store: store, runner: runner,
                                 options: .init(workers: workers, queueCapacity: queueCapacity, clientText: config.clientText))
        service = try SurgeonService(config: config, manager: manager)
        if start { try manager.start() }
    }

    deinit {
        service.manager.stop()
        try? FileManager.default.removeItem(at: dataDir)
    }

    /// Sends a request in-process.
    func send(_ method: String, _ target: String, auth: String? = nil, headers: [(String, String)] = [],
              body: [UInt8] = []) -> HTTPResponse {
        let parts = target.split(separator: "?", maxSplits: 1).map(String.init)
        let query: [(name: String, value: String)] = parts.count > 1 ? parts[1].split(separator: "&").map { kv in
            let p = kv.split(separator: "=", maxSplits: 1).map(String.init)
            return (name: p[0], value: p.count > 1 ? p[1] : "")
        } : []
        var h = HTTPHeaders(headers)
        if let auth { h["Authorization"] = auth }
        if !body.isEmpty { h["Content-Length"] = String(body.count) }
        return service.handle(HTTPRequest(method: method, target: target, path: parts[0], query: query, headers: h, body: .bytes(body)))
    }

    func send(_ method: String, _ target: String, auth: String? = nil, headers: [(String, String)] = [], json: String) -> HTTPResponse {
        send(method, target, auth: auth, headers: headers + [("Content-Type", "application/json")], body: Array(json.utf8))
    }

    /// Uploads a model and a calibration text for `auth`.
    func seedInputs(auth: String? = nil) {
        let a = auth ?? alice
        XCTAssertEqual(send("PUT", "/v1/models/m.gguf", auth: a, body: Array(repeating: 7, count: 1000)).status, 201)
        XCTAssertEqual(send("PUT", "/v1/texts/cal.txt", auth: a, body: Array("some calibration text".utf8)).status, 201)
    }

    /// Submits a job and returns its id.
    func submit(_ json: String = #"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.3,"shots":2}"#,
                auth: String? = nil, key: String? = nil) throws -> String {
        let r = send("POST", "/v1/jobs", auth: auth ?? alice, headers: key.map { [("Idempotency-Key", $0)] } ?? [], json: json)
        XCTAssertEqual(r.status, 201, String(decoding: r.bytes, as: UTF8.self))
        return try XCTUnwrap(r.json["id"] as? String)
    }
}

extension HTTPResponse {
    /// The body of a `.bytes` or `.file` response, or a drained `.stream`.
    var bytes: [UInt8] {
        switch body {
        case .bytes(let b): return b
        case .file(let path, let offset, let length):
            let fh = FileHandle(forReadingAtPath: path)!
            try? fh.seek(toOffset: UInt64(offset))
            return Array((try? fh.read(upToCount: length)) ?? Data())
        case .stream(let produce):
            final class Sink: @unchecked Sendable { var out: [UInt8] = [] }
            let sink = Sink()
            try? produce(HTTPBodyWriter { sink.out += $0 })
            return sink.out
        }
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:] }
}
