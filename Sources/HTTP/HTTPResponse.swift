/// A response as a handler returns it; the server frames it (Content-Length or chunked) and
/// applies HEAD semantics.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: Body
    /// Whether the server gzips the body for clients that accept it (`.automatic`: JSON bodies over
    /// `HTTPServerConfiguration.autoCompressMinBytes`).
    public var compression: Compression = .automatic
    /// The route template that answered (`/v1/jobs/{id}`), passed to the metrics hook.
    public var route: String?

    /// Response compression policy.
    public enum Compression: Sendable, Equatable {
        case automatic
        /// Compress `.bytes` and `.stream` bodies whenever the client accepts gzip.
        case gzip
        case none
    }

    /// How the body is produced.
    public enum Body: Sendable {
        /// Bytes in memory, sent with `Content-Length`.
        case bytes([UInt8])
        /// A byte range of a file on disk, sent with `Content-Length` (`length` bytes from `offset`).
        case file(path: String, offset: Int, length: Int)
        /// Produced while sending, with chunked transfer encoding (SSE, tar.gz archives).
        /// The closure writes pieces and returns when the body is complete; a write throws once the
        /// client has gone away.
        case stream(@Sendable (HTTPBodyWriter) throws -> Void)
    }

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: Body = .bytes([])) {
        self.status = status; self.headers = headers; self.body = body
    }
}

/// Sends pieces of a streamed response body.
public struct HTTPBodyWriter: Sendable {
    private let writeChunk: @Sendable ([UInt8]) throws -> Void

    public init(_ write: @escaping @Sendable ([UInt8]) throws -> Void) { self.writeChunk = write }

    /// Sends `bytes` now (one chunk); throws when the client is gone or the server is shutting down.
    public func write(_ bytes: [UInt8]) throws { try writeChunk(bytes) }
    /// Sends a UTF-8 string.
    public func write(_ text: String) throws { try writeChunk(Array(text.utf8)) }
}

/// Answers requests. Called on a worker thread per connection; may block (for example while
/// streaming an upload to disk or an SSE stream).
public protocol HTTPHandler: Sendable {
    func handle(_ request: HTTPRequest) -> HTTPResponse

    /// Looks at a request head before any of its body is read: a response here (e.g. 401 for a
    /// missing token) is sent at once, the body is not read, and the connection closes when the
    /// request had one. `nil` (the default) passes the request on to `handle`.
    func headCheck(_ head: HTTPRequestHead) -> HTTPResponse?
}

extension HTTPHandler {
    public func headCheck(_ head: HTTPRequestHead) -> HTTPResponse? { nil }
}
