import Foundation

/// Prometheus counters and histograms of the HTTP side; job gauges are read live at scrape time.
///
/// Every label comes from a fixed set, so no client can grow the exposition: `method` is one of
/// `knownMethods` or `other`, `route` one of the route templates given at init or `other`, and
/// `status` the code the server chose (100–599, else `other`). Recording takes a short lock; a
/// scrape copies the counters under it and formats them outside, so it never stalls requests.
final class Metrics: @unchecked Sendable {
    static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]

    struct Key: Hashable, Comparable {
        var route: String, method: String, status: String
        static func < (a: Key, b: Key) -> Bool { (a.route, a.method, a.status) < (b.route, b.method, b.status) }
    }

    struct Histogram {
        var buckets = [Int](repeating: 0, count: Metrics.buckets.count + 1)   // +Inf last
        var sum = 0.0
        var count = 0
    }

    /// What a scrape formats, copied under the lock.
    struct Snapshot {
        var requests: [Key: Int]
        var histograms: [String: Histogram]
        var bytesIn: Int
        var bytesOut: Int
    }

    private let routes: Set<String>
    private let lock = NSLock()
    private var requests: [Key: Int] = [:]
    private var histograms: [String: Histogram] = [:]
    private var bytesIn = 0
    private var bytesOut = 0

    /// `routes`: the route templates (and `unmatched`) that may appear as labels.
    init(routes: [String]) { self.routes = Set(routes) }

    func label(method: String) -> String { Self.knownMethods.contains(method) ? method : "other" }
    func label(route: String) -> String { routes.contains(route) ? route : "other" }
    func label(status: Int) -> String { (100...599).contains(status) ? String(status) : "other" }

    func record(route: String, method: String, status: Int, seconds: Double) {
        let key = Key(route: label(route: route), method: label(method: method), status: label(status: status))
        let bucket = Self.buckets.firstIndex { seconds <= $0 } ?? Self.buckets.count
        lock.withLock {
            requests[key, default: 0] += 1
            histograms[key.route, default: Histogram()].buckets[bucket] += 1
            histograms[key.route]!.sum += seconds
            histograms[key.route]!.count += 1
        }
    }

    func add(bytesIn n: Int) { lock.withLock { bytesIn += n } }
    func add(bytesOut n: Int) { lock.withLock { bytesOut += n } }

    func snapshot() -> Snapshot {
        lock.withLock { Snapshot(requests: requests, histograms: histograms, bytesIn: bytesIn, bytesOut: bytesOut) }
    }

    /// The exposition text of the HTTP metrics.
    func render() -> String {
        let s = snapshot()
        var out = "# HELP surgeon_http_requests_total HTTP requests by route, method and status.\n# TYPE surgeon_http_requests_total counter\n"
        for (key, n) in s.requests.sorted(by: { $0.key < $1.key }) {
            out += "surgeon_http_requests_total{route=\"\(key.route)\",method=\"\(key.method)\",status=\"\(key.status)\"} \(n)\n"
        }
        out += "# HELP surgeon_http_request_duration_seconds Time to produce a response (streams: until the handler returns).\n# TYPE surgeon_http_request_duration_seconds histogram\n"
        for (route, h) in s.histograms.sorted(by: { $0.key < $1.key }) {
            var cum = 0
            for (i, b) in Self.buckets.enumerated() {
                cum += h.buckets[i]
                out += "surgeon_http_request_duration_seconds_bucket{route=\"\(route)\",le=\"\(b)\"} \(cum)\n"
            }
            cum += h.buckets[Self.buckets.count]
            out += "surgeon_http_request_duration_seconds_bucket{route=\"\(route)\",le=\"+Inf\"} \(cum)\n"
            out += "surgeon_http_request_duration_seconds_sum{route=\"\(route)\"} \(h.sum)\n"
            out += "surgeon_http_request_duration_seconds_count{route=\"\(route)\"} \(h.count)\n"
        }
        out += "# HELP surgeon_http_received_bytes_total Request body bytes received.\n# TYPE surgeon_http_received_bytes_total counter\nsurgeon_http_received_bytes_total \(s.bytesIn)\n"
        out += "# HELP surgeon_http_sent_bytes_total Response body bytes sent.\n# TYPE surgeon_http_sent_bytes_total counter\nsurgeon_http_sent_bytes_total \(s.bytesOut)\n"
        return out
    }
}
