import Foundation

/// Prometheus counters and histograms of the HTTP side; job gauges are read live at scrape time.
final class Metrics: @unchecked Sendable {
    static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    private let lock = NSLock()
    private var requests: [String: Int] = [:]            // route|method|status
    private var histograms: [String: [Int]] = [:]        // route → bucket counts (+Inf last)
    private var sums: [String: Double] = [:]
    private var counts: [String: Int] = [:]
    private(set) var bytesIn = 0
    private(set) var bytesOut = 0

    func record(route: String, method: String, status: Int, seconds: Double) {
        lock.withLock {
            requests["\(route)|\(method)|\(status)", default: 0] += 1
            var h = histograms[route] ?? [Int](repeating: 0, count: Self.buckets.count + 1)
            h[Self.buckets.firstIndex { seconds <= $0 } ?? Self.buckets.count] += 1
            histograms[route] = h
            sums[route, default: 0] += seconds
            counts[route, default: 0] += 1
        }
    }

    func add(bytesIn n: Int) { lock.withLock { bytesIn += n } }
    func add(bytesOut n: Int) { lock.withLock { bytesOut += n } }

    /// The exposition text of the HTTP metrics.
    func render() -> String {
        lock.withLock {
            var out = "# HELP surgeon_http_requests_total HTTP requests by route, method and status.\n# TYPE surgeon_http_requests_total counter\n"
            for (key, n) in requests.sorted(by: { $0.key < $1.key }) {
                let p = key.split(separator: "|", omittingEmptySubsequences: false)
                out += "surgeon_http_requests_total{route=\"\(p[0])\",method=\"\(p[1])\",status=\"\(p[2])\"} \(n)\n"
            }
            out += "# HELP surgeon_http_request_duration_seconds Time to produce a response (streams: until the handler returns).\n# TYPE surgeon_http_request_duration_seconds histogram\n"
            for (route, h) in histograms.sorted(by: { $0.key < $1.key }) {
                var cum = 0
                for (i, b) in Self.buckets.enumerated() {
                    cum += h[i]
                    out += "surgeon_http_request_duration_seconds_bucket{route=\"\(route)\",le=\"\(b)\"} \(cum)\n"
                }
                cum += h[Self.buckets.count]
                out += "surgeon_http_request_duration_seconds_bucket{route=\"\(route)\",le=\"+Inf\"} \(cum)\n"
                out += "surgeon_http_request_duration_seconds_sum{route=\"\(route)\"} \(sums[route] ?? 0)\n"
                out += "surgeon_http_request_duration_seconds_count{route=\"\(route)\"} \(counts[route] ?? 0)\n"
            }
            out += "# HELP surgeon_http_received_bytes_total Request body bytes received.\n# TYPE surgeon_http_received_bytes_total counter\nsurgeon_http_received_bytes_total \(bytesIn)\n"
            out += "# HELP surgeon_http_sent_bytes_total Response body bytes sent.\n# TYPE surgeon_http_sent_bytes_total counter\nsurgeon_http_sent_bytes_total \(bytesOut)\n"
            return out
        }
    }
}
