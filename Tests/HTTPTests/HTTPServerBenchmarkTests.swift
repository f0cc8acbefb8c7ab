import Foundation
import XCTest
@testable import HTTP

/// Throughput of a small JSON response with keep-alive, measured with `wrk`. Runs only with
/// SURGEON_BENCH=1 (see scripts/bench_http.sh); prints figures, asserts only that wrk ran.
final class HTTPServerBenchmarkTests: XCTestCase {
    func testBenchmark_SmallJSONKeepAlive_PrintsRequestsPerSecond() throws {
        let env = ProcessInfo.processInfo.environment
        try XCTSkipUnless(env["SURGEON_BENCH"] == "1", "set SURGEON_BENCH=1 to run the benchmark")
        let wrk = env["WRK"] ?? "/usr/bin/wrk"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: wrk), "wrk not installed")
        let body = Array("{\"id\":\"job_01\",\"status\":\"running\",\"done\":false,\"progress\":{\"shot\":2,\"shots\":6}}".utf8)
        let server = try startServer({ c in
            c.port = Int(env["BENCH_PORT"] ?? "0") ?? 0
        }) { _ in HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", "application/json")]), body: .bytes(body)) }
        defer { server.stop(gracePeriod: 1) }
        let connections = env["BENCH_CONNECTIONS"] ?? "50"
        let duration = env["BENCH_DURATION"] ?? "5s"
        let threads = env["BENCH_THREADS"] ?? "2"
        let (status, out, err) = try runTool(wrk, ["-t\(threads)", "-c\(connections)", "-d\(duration)", "--latency",
                                                   "http://127.0.0.1:\(server.port)/v1/jobs/job_01"])
        XCTAssertEqual(status, 0, err)
        print(out)
        let rps = out.split(separator: "\n").first { $0.hasPrefix("Requests/sec:") }
        print("BENCH http small-json keep-alive c=\(connections): \(rps.map(String.init) ?? "?")")
        XCTAssertNotNil(rps)
        XCTAssertEqual(server.stats.openConnections > 0 || server.stats.requests > 0, true)
    }

    func testBenchmark_StreamedUploadAndFileDownload_PrintMegabytesPerSecond() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["SURGEON_BENCH"] == "1", "set SURGEON_BENCH=1 to run the benchmark")
        let size = 512 << 20
        let path = NSTemporaryDirectory() + "bench-\(UUID().uuidString).bin"
        XCTAssertEqual(try runTool("/usr/bin/truncate", ["-s", String(size), path]).0, 0)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let server = try startServer({ $0.maxBodyBytes = nil }) { req in
            if req.method == "GET" { return HTTPResponse(status: 200, body: .file(path: path, offset: 0, length: size)) }
            var total = 0
            while let piece = try? req.body.read() { total += piece.count }
            return text("\(total)")
        }
        defer { server.stop(gracePeriod: 1) }
        let url = "http://127.0.0.1:\(server.port)/blob"
        var start = Date()
        let cpu0 = processCPUSeconds()
        let (s1, out, e1) = try runTool("/usr/bin/curl", ["-sS", "-T", path, "-H", "Transfer-Encoding: chunked", url])
        let upload = Date().timeIntervalSince(start)
        let uploadCPU = processCPUSeconds() - cpu0
        XCTAssertEqual(s1, 0, e1)
        XCTAssertEqual(out, String(size))
        start = Date()
        let (s2, _, e2) = try runTool("/usr/bin/curl", ["-sS", "-o", "/dev/null", url])
        let download = Date().timeIntervalSince(start)
        XCTAssertEqual(s2, 0, e2)
        print(String(format: "BENCH http chunked upload 512 MiB: %.0f MB/s wall, %.0f MB per server CPU second; "
                     + "sendfile download 512 MiB: %.0f MB/s", Double(size) / upload / 1e6, Double(size) / uploadCPU / 1e6,
                     Double(size) / download / 1e6))
    }
}

/// User + system CPU seconds of this process (the in-process server).
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6
}
