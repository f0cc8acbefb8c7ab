/// The request line and header section of one request, as the parser produced it, with the framing
/// and connection decisions RFC 9112 derives from them.
public struct HTTPRequestHead: Sendable, Equatable {
    /// How the message body is delimited.
    public enum Framing: Sendable, Equatable {
        case none
        case length(Int)
        case chunked
    }

    public var method: String
    /// The request target exactly as sent (`/v1/jobs?limit=10`).
    public var target: String
    /// `(1, 1)` or `(1, 0)`.
    public var version: (major: Int, minor: Int)
    public var headers: HTTPHeaders
    public var framing: Framing
    /// Whether the client wants the connection kept open after this exchange.
    public var keepAlive: Bool
    /// The client sent `Expect: 100-continue` and waits for `100 Continue` before sending the body.
    public var expectsContinue: Bool

    public init(method: String, target: String, version: (major: Int, minor: Int) = (1, 1),
                headers: HTTPHeaders = HTTPHeaders(), framing: Framing = .none,
                keepAlive: Bool = true, expectsContinue: Bool = false) {
        self.method = method; self.target = target; self.version = version; self.headers = headers
        self.framing = framing; self.keepAlive = keepAlive; self.expectsContinue = expectsContinue
    }

    public static func == (a: HTTPRequestHead, b: HTTPRequestHead) -> Bool {
        a.method == b.method && a.target == b.target && a.version == b.version && a.headers == b.headers
            && a.framing == b.framing && a.keepAlive == b.keepAlive && a.expectsContinue == b.expectsContinue
    }
}

/// Why a request could not be parsed, with the status code to answer before closing the connection.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var reason: String

    public init(status: Int, _ reason: String) { self.status = status; self.reason = reason }

    public var description: String { "\(status): \(reason)" }

    static func bad(_ reason: String) -> HTTPParseError { HTTPParseError(status: 400, reason) }
}
