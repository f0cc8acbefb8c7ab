import Foundation
import HTTP
import Jobs
import XCTest
@testable import Service
#if canImport(Glibc)
import Glibc
#endif

/// Many SSE followers of one running job over real sockets (issue 16, item 3: each stream used to rescan the whole
/// `events.jsonl` under the manager's one lock on every event, slowing every job and every request).
final class EventStreamLoadTests: XCTestCase {
    static let clients = 100

    /// What one run of the job measured.
    struct Run {
        var id: String
        /// Seconds from the job's first progress event to its terminal event (from the events' own times).
        var production: Double
        /// Seconds per `GET /v1/jobs/{id}` and `GET /v1/jobs` while the job ran.
        var latencies: [Double]
        /// The SSE bodies (de-chunked), one per client.
        var streams: [String]
    }

    func testHundredSSEFollowers_GetEveryEventInOrder_WhileRequestsAndTheJobStayFast() throws {
        let gate = ReusableGate(shot: 1, layer: 1)
        // 3 shots × 40 layers × 10 ms: about 130 events over about 1.2 s, on the real disk store.
        let h = try ServiceHarness(runner: SimulatedPruneRunner(layers: 40, secondsPerLayer: 0.01, onLayer: gate.hook),
                                   diskStore: true, configure: { $0.sseKeepaliveSeconds = 0.5 })
        var config = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        let service = h.service
        config.bodyLimit = { head in service.bodyLimit(for: head) }
        let server = HTTPServer(configuration: config, handler: h.service)
        try server.start()
        defer { server.stop(gracePeriod: 1) }
        h.seedInputs()
        let job = #"{"model":"m.gguf","calibration":"cal.txt","sparsity":0.3,"shots":3}"#

        let alone = try run(h, server: server, gate: gate, job: job, clients: 0)
        let followed = try run(h, server: server, gate: gate, job: job, clients: Self.clients)

        // (a) Every client got every event of the job, in order, ending with the terminal event.
        let all = try h.service.manager.events(of: followed.id, after: 0)
        XCTAssertEqual(all.map(\.sequence), Array(1...all.count))
        XCTAssertTrue(all.last?.isTerminal == true)
        XCTAssertGreaterThan(all.count, 100)
        XCTAssertEqual(followed.streams.count, Self.clients)
        for (i, text) in followed.streams.enumerated() {
            let ids = text.components(separatedBy: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int($0.dropFirst(4)) }
            XCTAssertEqual(ids, all.map(\.sequence), "client \(i) saw \(ids.count) of \(all.count) events")
            let last = text.components(separatedBy: "\n\n").filter { $0.contains("id: ") }.last ?? ""
            XCTAssertTrue(last.contains("event: status") && last.contains(#""status":"succeeded""#), "client \(i) ends with: \(last)")
            if ids != all.map(\.sequence) { break }
        }

        // (b) Status and list requests stay fast while the clients follow (the old code took seconds).
        let sorted = followed.latencies.sorted()
        XCTAssertGreaterThanOrEqual(sorted.count, 10)
        let p99 = sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))]
        let p50 = sorted[sorted.count / 2]
        print("SSE load: \(Self.clients) clients, \(sorted.count) requests: p50 \(ms(p50)) ms, p99 \(ms(p99)) ms;"
              + " job \(String(format: "%.2f", alone.production)) s alone, \(String(format: "%.2f", followed.production)) s followed")
        XCTAssertLessThan(p99, 0.5, "p99 of GET /v1/jobs/{id} and GET /v1/jobs with \(Self.clients) SSE clients")

        // (c) The job's own progress is not slowed beyond a generous factor.
        XCTAssertLessThan(followed.production, 3 * alone.production + 1,
                          "the job took \(followed.production) s with \(Self.clients) followers, \(alone.production) s alone")
    }

    /// Submits `job`, holds it before its first layer while `clients` SSE clients attach (and see its first events),
    /// lets it run while polling the status and list routes, and collects what every client received.
    private func run(_ h: ServiceHarness, server: HTTPServer, gate: ReusableGate, job: String, clients: Int) throws -> Run {
        let id = try h.submit(job)
        XCTAssertEqual(gate.reached.wait(timeout: .now() + 30), .success, "the job started")
        let streams = try SSEClients(port: server.port, count: clients, target: "/v1/jobs/\(id)/events",
                                     headers: [("Authorization", h.alice), ("Accept", "text/event-stream")])
        XCTAssertTrue(streams.read(until: Date().addingTimeInterval(30)) { $0.contains("id: 2\n") }, "every client is attached")
        let reading = DispatchSemaphore(value: 0)
        final class Done: @unchecked Sendable { var closed = false }
        let done = Done()
        Thread {
            done.closed = streams.read(until: Date().addingTimeInterval(120)) { _ in false }
            reading.signal()
        }.start()
        gate.release.signal()

        let client = RawHTTPClient(port: server.port)
        let auth = [("Authorization", h.alice)]
        var latencies: [Double] = []
        let deadline = Date().addingTimeInterval(120)
        var terminal = false
        while !terminal, Date() < deadline {
            let t0 = Date()
            let one = try client.send("GET", "/v1/jobs/\(id)", headers: auth)
            let t1 = Date()
            let list = try client.send("GET", "/v1/jobs?limit=10", headers: auth)
            let t2 = Date()
            XCTAssertEqual(one.status, 200); XCTAssertEqual(list.status, 200)
            latencies += [t1.timeIntervalSince(t0), t2.timeIntervalSince(t1)]
            terminal = ["succeeded", "failed", "cancelled"].contains(one.json["status"] as? String ?? "")
            usleep(20_000)
        }
        XCTAssertTrue(terminal, "the job ended within the deadline")
        XCTAssertEqual(reading.wait(timeout: .now() + 130), .success)
        XCTAssertTrue(done.closed, "every stream closed by itself after the terminal event")

        let events = try h.service.manager.events(of: id, after: 0)
        let first = try XCTUnwrap(events.first { $0.kind == .progress })
        let last = try XCTUnwrap(events.last)
        return Run(id: id, production: last.time.timeIntervalSince(first.time), latencies: latencies, streams: streams.bodies)
    }

    private func ms(_ s: Double) -> String { String(format: "%.1f", s * 1000) }
}

/// Holds every job at one (shot, layer) until released once per job.
final class ReusableGate: @unchecked Sendable {
    let reached = DispatchSemaphore(value: 0)
    let release = DispatchSemaphore(value: 0)
    let shot: Int, layer: Int
    init(shot: Int, layer: Int) { self.shot = shot; self.layer = layer }
    func hook(_ s: Int, _ l: Int) { if s == shot && l == layer { reached.signal(); release.wait() } }
}

/// `count` HTTP clients on raw sockets that each send one request (`Connection: close`) and read the response
/// until the server closes; one `poll(2)` loop reads them all.
final class SSEClients: @unchecked Sendable {
    private var fds: [Int32] = []
    private var raw: [[UInt8]]
    private var open: [Bool]

    init(port: Int, count: Int, target: String, headers: [(String, String)]) throws {
        raw = Array(repeating: [], count: count)
        open = Array(repeating: true, count: count)
        var head = "GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        let request = Array((head + "\r\n").utf8)
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw POSIXError(.EMFILE) }
            fds.append(fd)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
            let n = request.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n == request.count else { throw POSIXError(.EPIPE) }
        }
    }

    deinit { fds.forEach { close($0) } }

    /// Reads until every connection closed (`true`), every open one's bytes so far satisfy `enough`
    /// (`true`), or `deadline` (`false`).
    func read(until deadline: Date, enough: (String) -> Bool) -> Bool {
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let waiting = (0..<fds.count).filter { open[$0] }
            if waiting.isEmpty { return true }
            if waiting.allSatisfy({ enough(String(decoding: raw[$0], as: UTF8.self)) }) { return true }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return false }
            var polls = waiting.map { pollfd(fd: fds[$0], events: Int16(POLLIN), revents: 0) }
            let ready = poll(&polls, nfds_t(polls.count), Int32(min(left, 1) * 1000))
            if ready <= 0 { continue }
            for (k, p) in polls.enumerated() where p.revents != 0 {
                let i = waiting[k]
                let n = recv(fds[i], &buf, buf.count, 0)
                if n > 0 { raw[i] += buf[0..<n] } else { open[i] = false }
            }
        }
    }

    /// Each response's body, de-chunked.
    var bodies: [String] {
        raw.map { (try? RawHTTPClient.parse($0).text) ?? "" }
    }
}
