/// A parsed request as handlers see it. The body is a stream so that uploads of any size are read,
/// hashed and written to disk without being held in memory.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The request target as sent, e.g. `/v1/jobs?limit=10`.
    public var target: String
    /// The percent-decoded path, without the query.
    public var path: String
    /// Query parameters in order (percent-decoded).
    public var query: [(name: String, value: String)]
    public var headers: HTTPHeaders
    /// The request body; read it at most once.
    public var body: HTTPBodyReader
    /// The client's address (`ip:port`), for rate limits and logs.
    public var remoteAddress: String

    public init(method: String, target: String, path: String, query: [(name: String, value: String)] = [],
                headers: HTTPHeaders = HTTPHeaders(), body: HTTPBodyReader = .empty, remoteAddress: String = "") {
        self.method = method; self.target = target; self.path = path; self.query = query
        self.headers = headers; self.body = body; self.remoteAddress = remoteAddress
    }

    /// The first query value named `name`.
    public func queryValue(_ name: String) -> String? { query.first { $0.name == name }?.value }
}

/// Pulls a request body in pieces. `read` returns `nil` at the end of the body and throws
/// `HTTPError` when the client breaks the framing, times out or exceeds the body limit.
public struct HTTPBodyReader: Sendable {
    private let readChunk: @Sendable (Int) throws -> [UInt8]?

    public init(_ read: @escaping @Sendable (Int) throws -> [UInt8]?) { self.readChunk = read }

    /// Up to `maxBytes` of the body, or `nil` at its end.
    public func read(maxBytes: Int = 1 << 20) throws -> [UInt8]? { try readChunk(maxBytes) }

    /// The whole body, refusing more than `limit` bytes.
    public func readAll(limit: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        while let chunk = try read() {
            out += chunk
            if out.count > limit { throw HTTPError.bodyTooLarge(limit: limit) }
        }
        return out
    }

    /// An empty body.
    public static let empty = HTTPBodyReader { _ in nil }

    /// A body from bytes in memory (tests, in-process calls).
    public static func bytes(_ bytes: [UInt8]) -> HTTPBodyReader {
        final class Cursor: @unchecked Sendable { var offset = 0 }
        let cursor = Cursor()
        return HTTPBodyReader { max in
            guard cursor.offset < bytes.count else { return nil }
            let end = min(bytes.count, cursor.offset + max)
            defer { cursor.offset = end }
            return Array(bytes[cursor.offset..<end])
        }
    }
}

/// Errors raised while reading a request.
public enum HTTPError: Error, Equatable, Sendable {
    case bodyTooLarge(limit: Int)
    case malformed(String)
    case timeout
    case connectionClosed
}
