import Foundation
import HTTP
import Jobs

/// Response builders shared by the handlers.
enum Reply {
    /// `value` as JSON with `status`; a value that cannot be encoded (a non-finite number where the type
    /// has no representation for it) is logged and answered with a 500 `internal_error`, never a made-up body.
    static func json<T: Encodable>(_ status: Int, _ value: T, headers: [(String, String)] = []) -> HTTPResponse {
        let body: Data
        do { body = try JobCoding.encoder().encode(value) } catch {
            FileHandle.standardError.write(Data("surgeon: a \(T.self) response could not be encoded as JSON: \(error)\n".utf8))
            return Problem.encodingFailed(String(describing: T.self)).response(instance: "")
        }
        var h = HTTPHeaders([("Content-Type", "application/json")])
        for (k, v) in headers { h.add(k, v) }
        return HTTPResponse(status: status, headers: h, body: .bytes(Array(body)))
    }

    /// 204 No Content.
    static func noContent() -> HTTPResponse { HTTPResponse(status: 204) }

    /// Reads a JSON object body of at most `limit` bytes, nested at most `JSONValue.maxDepth` deep
    /// (checked on the raw bytes before decoding). Every JSON request body goes through here.
    static func jsonObject(_ request: HTTPRequest, limit: Int) throws -> [String: JSONValue] {
        let bytes: [UInt8]
        do { bytes = try request.body.readAll(limit: limit) } catch HTTPError.bodyTooLarge {
            throw Problem.tooLarge(limit: limit)
        }
        guard !bytes.isEmpty else { throw Problem.invalidJSON("the request body is empty; send a JSON object") }
        do { try JSONValue.checkShape(bytes, maxBytes: limit) } catch {
            switch error {
            case .tooLarge(let limit): throw Problem.tooLarge(limit: limit)
            case .tooDeep(let depth, let offset): throw Problem.jsonTooDeep(limit: depth, offset: offset)
            }
        }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else {
            throw Problem.invalidJSON("the request body is not valid JSON")
        }
        guard case .object(let dict) = value else { throw Problem.invalidJSON("the request body must be a JSON object") }
        return dict
    }

    /// A `{data, has_more, next_cursor}` page.
    struct Page<T: Encodable>: Encodable {
        var object = "list"
        var data: [T]
        var hasMore: Bool
        var nextCursor: String?
        enum CodingKeys: String, CodingKey { case object, data, hasMore = "has_more", nextCursor = "next_cursor" }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(object, forKey: .object); try c.encode(data, forKey: .data); try c.encode(hasMore, forKey: .hasMore)
            try c.encode(nextCursor, forKey: .nextCursor)
        }
    }

    /// Parses `?limit=` (1...100, default 20).
    static func limit(_ request: HTTPRequest) throws -> Int {
        guard let v = request.queryValue("limit") else { return 20 }
        guard let n = Int(v), (1...100).contains(n) else { throw Problem.invalidQuery("limit must be an integer in 1...100") }
        return n
    }
}
