import Foundation

extension HTTPResponse {
    /// The whole body as bytes (reads the file range or runs the stream): for in-process handler tests.
    public func collectBody() throws -> [UInt8] {
        switch body {
        case .bytes(let b):
            return b
        case .file(let path, let offset, let length):
            guard let handle = FileHandle(forReadingAtPath: path) else { throw HTTPError.malformed("cannot open \(path)") }
            defer { try? handle.close() }
            try handle.seek(toOffset: UInt64(offset))
            return Array(try handle.read(upToCount: length) ?? Data())
        case .stream(let produce):
            final class Sink: @unchecked Sendable { var bytes: [UInt8] = [] }
            let sink = Sink()
            try produce(HTTPBodyWriter { sink.bytes += $0 })
            return sink.bytes
        }
    }

    /// A JSON response (`application/json`) from already encoded bytes.
    public static func json(_ status: Int = 200, _ body: [UInt8], headers: HTTPHeaders = HTTPHeaders()) -> HTTPResponse {
        var h = headers
        h["Content-Type"] = "application/json"
        return HTTPResponse(status: status, headers: h, body: .bytes(body))
    }

    /// An RFC 9457 `application/problem+json` response with `type`, `title`, `status` and `detail`.
    public static func problem(_ status: Int, detail: String) -> HTTPResponse { HTTPConnection.problem(status, detail) }
}
