/// Everything the server needs besides its handler. Every limit has a safe default.
public struct HTTPServerConfiguration: Sendable {
    /// Certificate chain and private key PEM files; when set the server speaks HTTPS only.
    public struct TLS: Sendable, Equatable {
        public var certificatePath: String
        public var privateKeyPath: String

        public init(certificatePath: String, privateKeyPath: String) {
            self.certificatePath = certificatePath; self.privateKeyPath = privateKeyPath
        }
    }

    /// Listen address: `127.0.0.1`, `::1`, `0.0.0.0`, `::` (IPv6 and IPv4) or a host name.
    public var host: String = "127.0.0.1"
    /// Listen port; 0 picks a free one (read `HTTPServer.port` after `start()`).
    public var port: Int = 8080
    public var backlog: Int32 = 512
    public var tls: TLS?

    /// Request line plus headers (431 beyond).
    public var maxHeaderBytes: Int = 16 * 1024
    /// Header fields per request (431 beyond).
    public var maxHeaderCount: Int = 100
    /// Default request body limit (413 beyond); `nil` for none.
    public var maxBodyBytes: Int? = 1 << 20
    /// Per-request body limit, overriding `maxBodyBytes` (return `nil` for unlimited, e.g. for an
    /// upload route whose handler enforces its own limit while streaming).
    public var bodyLimit: (@Sendable (HTTPRequestHead) -> Int?)?
    /// How much of an unread request body the server reads and discards to keep a connection alive;
    /// beyond this it closes the connection instead.
    public var maxDrainBytes: Int = 256 * 1024
    /// Open connections at once. When full, the connection idle longest (waiting for a request with
    /// nothing of it received) is closed to make room; with none idle, new ones get 503 and close.
    public var maxConnections: Int = 1024
    /// Open connections from one client IP; beyond it that client's longest-idle connection is
    /// closed to make room, or with none idle the new one gets 429 and closes. Raise it behind a
    /// proxy that connects from one address.
    public var maxConnectionsPerClient: Int = 128
    /// Requests per second per client IP (429 with `Retry-After` beyond); `nil` disables.
    public var rateLimit: HTTPRateLimiter.Policy?
    /// Header-read (from the first byte), idle keep-alive, first-byte (new connections), body-read
    /// (inactivity) and whole-body timeouts.
    public var timeouts = HTTPConnectionStateMachine.Timeouts()
    /// A write that cannot progress for this long fails (client stopped reading).
    public var writeTimeout: Double = 30
    /// gzip-compress `application/json` and `application/problem+json` bodies larger than this when
    /// the client accepts gzip; `nil` disables automatic compression.
    public var autoCompressMinBytes: Int? = 1024
    /// `Server` header value; `nil` omits it.
    public var serverName: String? = "surgeon"
    /// Called after every response with what an access log line needs.
    public var accessLog: (@Sendable (HTTPAccessLogEntry) -> Void)?
    /// Called after every response; the route label comes from `HTTPResponse.route`.
    public var metrics: (@Sendable (HTTPAccessLogEntry) -> Void)?
    /// The clock for timeouts and rate limits.
    public var clock: any HTTPClock = SystemHTTPClock()

    public init(host: String = "127.0.0.1", port: Int = 8080, tls: TLS? = nil) {
        self.host = host; self.port = port; self.tls = tls
    }

    var parserLimits: HTTPRequestParser.Limits {
        HTTPRequestParser.Limits(maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount, maxBodyBytes: maxBodyBytes)
    }
}

/// One finished exchange, for access logs and metrics.
public struct HTTPAccessLogEntry: Sendable {
    public var method: String
    /// The decoded path (no query).
    public var path: String
    /// The route template the handler reported (`HTTPResponse.route`), e.g. `/v1/jobs/{id}`.
    public var route: String?
    public var status: Int
    /// Response body bytes written (after compression).
    public var bytesSent: Int
    /// Request body bytes read.
    public var bytesReceived: Int
    /// Seconds from the parsed head to the last byte written.
    public var duration: Double
    public var remoteAddress: String
    public var userAgent: String?

    /// A combined-log-like line: `127.0.0.1:5000 "GET /v1/jobs" 200 512B 1.2ms`.
    public var line: String {
        let ms = (duration * 10_000).rounded() / 10
        return "\(remoteAddress) \"\(method) \(path)\" \(status) \(bytesSent)B \(ms)ms"
    }
}

/// Counters for metrics.
public struct HTTPServerStats: Sendable, Equatable {
    public var openConnections = 0
    public var acceptedConnections = 0
    /// Connections refused with 503 because `maxConnections` were open (and none was idle), or
    /// with 429 because their client had `maxConnectionsPerClient` open.
    public var rejectedConnections = 0
    /// Idle connections closed to make room for new ones.
    public var evictedConnections = 0
    /// Requests answered 429.
    public var rateLimitedRequests = 0
    public var requests = 0
}
