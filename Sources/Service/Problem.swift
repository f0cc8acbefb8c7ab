import Foundation
import HTTP
import Jobs

/// An RFC 9457 problem: every API error is one of these, sent as `application/problem+json`.
/// `type` is `urn:surgeon:problem:<code>` and stable; `code` repeats the last part.
public struct Problem: Error, Encodable, Sendable {
    /// One invalid field of a request body (`pointer` is a JSON Pointer).
    public struct FieldError: Encodable, Sendable, Equatable {
        public var pointer: String
        public var detail: String
        public init(_ pointer: String, _ detail: String) { self.pointer = pointer; self.detail = detail }
    }

    public var code: String
    public var title: String
    public var status: Int
    public var detail: String
    public var instance: String = ""
    public var errors: [FieldError]? = nil
    /// Extra members (e.g. `memory_estimate`).
    public var extra: [String: Int]? = nil
    /// Extra response headers (Retry-After, WWW-Authenticate, Allow, Content-Range).
    public var headers: [(String, String)] = []

    public init(_ code: String, _ status: Int, _ title: String, _ detail: String) {
        self.code = code; self.status = status; self.title = title; self.detail = detail
    }

    public var type: String { "urn:surgeon:problem:\(code)" }

    enum CodingKeys: String, CodingKey { case type, title, status, detail, instance, code, errors }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type); try c.encode(title, forKey: .title); try c.encode(status, forKey: .status)
        try c.encode(detail, forKey: .detail); try c.encode(instance, forKey: .instance); try c.encode(code, forKey: .code)
        try c.encodeIfPresent(errors, forKey: .errors)
        if let extra {
            var d = encoder.container(keyedBy: DynamicKey.self)
            for (k, v) in extra.sorted(by: { $0.key < $1.key }) { try d.encode(v, forKey: DynamicKey(k)) }
        }
    }

    /// The response for this problem at `instance`.
    public func response(instance: String) -> HTTPResponse {
        var p = self
        p.instance = instance
        var headers = HTTPHeaders([("Content-Type", "application/problem+json")])
        for (k, v) in self.headers { headers.add(k, v) }
        let body = (try? JobCoding.encoder().encode(p)) ?? Data()
        return HTTPResponse(status: status, headers: headers, body: .bytes(Array(body)))
    }
}

struct DynamicKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// The catalogue of problems, one per failure.
extension Problem {
    static func unauthorized(_ detail: String, invalidToken: Bool) -> Problem {
        var p = Problem("unauthorized", 401, "Unauthorized", detail)
        p.headers = [("WWW-Authenticate", invalidToken ? "Bearer realm=\"surgeon\", error=\"invalid_token\"" : "Bearer realm=\"surgeon\"")]
        return p
    }
    static func notFound(_ what: String) -> Problem { Problem("not_found", 404, "Not Found", "\(what) does not exist") }
    static func routeNotFound(_ path: String) -> Problem { Problem("route_not_found", 404, "Not Found", "no route for \(path)") }
    static func methodNotAllowed(_ method: String, allowed: [String]) -> Problem {
        var p = Problem("method_not_allowed", 405, "Method Not Allowed", "\(method) is not allowed here; use \(allowed.joined(separator: ", "))")
        p.headers = [("Allow", allowed.joined(separator: ", "))]
        return p
    }
    static func invalidJSON(_ detail: String) -> Problem { Problem("invalid_json", 400, "Bad Request", detail) }
    static func jsonTooDeep(limit: Int, offset: Int) -> Problem {
        Problem("json_too_deep", 400, "Bad Request",
                "the request body nests arrays and objects deeper than \(limit) levels (at byte \(offset))")
    }
    static func invalidBody(_ detail: String) -> Problem { Problem("invalid_body", 400, "Bad Request", detail) }
    static func invalidName(_ detail: String) -> Problem { Problem("invalid_name", 400, "Invalid Name", detail) }
    static func invalidQuery(_ detail: String) -> Problem { Problem("invalid_query", 400, "Bad Request", detail) }
    static func validation(_ errors: [FieldError]) -> Problem {
        var p = Problem("validation_failed", 422, "Validation Failed",
                        errors.map { "\($0.pointer): \($0.detail)" }.joined(separator: "; "))
        p.errors = errors
        return p
    }
    static func tooLarge(limit: Int) -> Problem {
        Problem("payload_too_large", 413, "Payload Too Large", "the body exceeds the limit of \(limit) bytes")
    }
    /// A request body that could not be read (bad chunked framing, too slow, cut off): the client's fault.
    static func body(_ e: HTTPError) -> Problem {
        switch e {
        case .bodyTooLarge(let limit): return tooLarge(limit: limit)
        case .malformed(let m): return Problem("malformed_body", 400, "Bad Request", "the request body is malformed: \(m)")
        case .timeout: return Problem("body_timeout", 408, "Request Timeout", "the request body did not arrive in time")
        case .connectionClosed: return Problem("body_incomplete", 400, "Bad Request", "the connection closed before the body ended")
        }
    }
    static func insufficientStorage(_ detail: String) -> Problem { Problem("insufficient_storage", 507, "Insufficient Storage", detail) }
    static func queueFull(capacity: Int, retryAfter: Int) -> Problem {
        var p = Problem("queue_full", 429, "Too Many Requests", "the job queue holds its maximum of \(capacity) jobs; retry later")
        p.headers = [("Retry-After", String(retryAfter))]
        return p
    }
    static func memoryLimit(estimate: Int, limit: Int, minimum: Int? = nil) -> Problem {
        let least = minimum.map { "; its smallest plan (\($0 == estimate ? "this one" : "the streamed mode")) needs \($0) bytes" } ?? ""
        var p = Problem("memory_limit_exceeded", 422, "Memory Limit Exceeded",
                        "the job needs an estimated \(estimate) bytes; the server allows \(limit) per job\(least)")
        p.extra = ["memory_estimate_bytes": estimate, "memory_limit_bytes": limit]
        if let minimum { p.extra?["memory_minimum_bytes"] = minimum }
        return p
    }
    static func idempotencyMismatch(_ detail: String) -> Problem { Problem("idempotency_key_reused", 422, "Idempotency Key Reused", detail) }
    static func idempotencyInFlight() -> Problem {
        Problem("idempotency_key_in_flight", 409, "Conflict", "a request with this Idempotency-Key is still being processed")
    }
    static func notCancellable(_ status: JobStatus) -> Problem {
        Problem("job_not_cancellable", 409, "Conflict", "the job is already \(status.rawValue)")
    }
    static func notTerminal(_ status: JobStatus) -> Problem {
        Problem("job_not_terminal", 409, "Conflict", "the job is \(status.rawValue); only finished jobs can be deleted")
    }
    static func nameTaken(_ name: String) -> Problem { Problem("name_taken", 409, "Conflict", "\(name) already exists") }
    /// Every path `POST /v1/models` or `/v1/texts` refuses gets this one answer, whether the path exists or not.
    static func pathNotAllowed() -> Problem {
        Problem("path_not_allowed", 403, "Forbidden",
                "the path is not a readable regular file inside an allowed root (allowed_roots in the server's config)")
    }
    static func rangeNotSatisfiable(size: Int) -> Problem {
        var p = Problem("range_not_satisfiable", 416, "Range Not Satisfiable", "the file has \(size) bytes")
        p.headers = [("Content-Range", "bytes */\(size)")]
        return p
    }
    static func notReady(_ detail: String) -> Problem { Problem("not_ready", 503, "Service Unavailable", detail) }
    static func internalError(_ detail: String) -> Problem { Problem("internal_error", 500, "Internal Server Error", detail) }
    /// A response value the JSON encoder refused (the server log has the encoder's error).
    static func encodingFailed(_ what: String) -> Problem {
        internalError("the \(what) response could not be encoded as JSON; the server log has the details")
    }
}
