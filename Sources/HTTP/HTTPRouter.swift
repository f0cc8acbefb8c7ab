/// Routes requests by method and path template (`/v1/jobs/{id}/artifacts/{name}`) to closures.
/// Unknown paths get 404, known paths with another method 405 with `Allow`; HEAD falls back to the
/// GET route (the server drops the body). The matched template is put in `HTTPResponse.route` for
/// the metrics hook.
public struct HTTPRouter: HTTPHandler {
    public typealias Handler = @Sendable (HTTPRequest, HTTPRouteParameters) -> HTTPResponse

    /// The body limit a route asks for (see `HTTPServerConfiguration.bodyLimit`).
    public enum BodyLimit: Sendable, Equatable {
        case serverDefault
        case bytes(Int)
        /// The handler enforces its own limit while streaming.
        case unlimited
    }

    struct Route: Sendable {
        let method: String
        let pattern: String
        let segments: [Segment]
        let bodyLimit: BodyLimit
        let handler: Handler
    }

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
        /// `{name...}`: the rest of the path, slashes included (last segment only).
        case rest(String)
    }

    private var routes: [Route] = []

    public init() {}

    /// Adds a route. Patterns are `/`-separated; `{name}` matches one segment, `{name...}` the rest.
    public mutating func add(_ method: String, _ pattern: String, bodyLimit: BodyLimit = .serverDefault,
                             _ handler: @escaping Handler) {
        let segments = Self.split(pattern).map { s -> Segment in
            guard s.hasPrefix("{"), s.hasSuffix("}") else { return .literal(s) }
            let name = String(s.dropFirst().dropLast())
            return name.hasSuffix("...") ? .rest(String(name.dropLast(3))) : .parameter(name)
        }
        routes.append(Route(method: method.uppercased(), pattern: pattern, segments: segments, bodyLimit: bodyLimit, handler: handler))
    }

    public mutating func get(_ p: String, _ h: @escaping Handler) { add("GET", p, h) }
    public mutating func post(_ p: String, bodyLimit: BodyLimit = .serverDefault, _ h: @escaping Handler) { add("POST", p, bodyLimit: bodyLimit, h) }
    public mutating func put(_ p: String, bodyLimit: BodyLimit = .serverDefault, _ h: @escaping Handler) { add("PUT", p, bodyLimit: bodyLimit, h) }
    public mutating func delete(_ p: String, _ h: @escaping Handler) { add("DELETE", p, h) }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        let path = Self.split(request.path)
        var allowed: [String] = []
        for method in request.method == "HEAD" ? ["HEAD", "GET"] : [request.method] {
            for route in routes {
                guard let params = route.match(path) else { continue }
                guard route.method == method else { allowed.append(route.method); continue }
                var response = route.handler(request, params)
                if response.route == nil { response.route = route.pattern }
                return response
            }
        }
        if allowed.isEmpty { return HTTPConnection.problem(404, "no route for \(request.path)") }
        var response = HTTPConnection.problem(405, "\(request.method) is not allowed on \(request.path)")
        var methods: [String] = []
        for m in allowed + (allowed.contains("GET") ? ["HEAD"] : []) where !methods.contains(m) { methods.append(m) }
        response.headers["Allow"] = methods.joined(separator: ", ")
        return response
    }

    /// The body limit for a request head: the matching route's, else `defaultLimit`. Use as
    /// `configuration.bodyLimit = { router.bodyLimit(for: $0, default: configuration.maxBodyBytes) }`.
    public func bodyLimit(for head: HTTPRequestHead, default defaultLimit: Int?) -> Int? {
        guard let path = HTTPRequestTarget.split(head.target)?.path else { return defaultLimit }
        let segments = Self.split(path)
        guard let route = routes.first(where: { $0.method == head.method && $0.match(segments) != nil }) else { return defaultLimit }
        switch route.bodyLimit {
        case .serverDefault: return defaultLimit
        case .bytes(let n): return n
        case .unlimited: return nil
        }
    }

    static func split(_ path: String) -> [String] { path.split(separator: "/", omittingEmptySubsequences: true).map(String.init) }
}

extension HTTPRouter.Route {
    func match(_ path: [String]) -> HTTPRouteParameters? {
        var values: [String: String] = [:]
        for (i, segment) in segments.enumerated() {
            switch segment {
            case .rest(let name):
                guard i < path.count else { return nil }
                values[name] = path[i...].joined(separator: "/")
                return HTTPRouteParameters(values: values)
            case .literal(let s):
                guard i < path.count, path[i] == s else { return nil }
            case .parameter(let name):
                guard i < path.count else { return nil }
                values[name] = path[i]
            }
        }
        return path.count == segments.count ? HTTPRouteParameters(values: values) : nil
    }
}

/// Values of the `{name}` segments of a matched route.
public struct HTTPRouteParameters: Sendable, Equatable {
    public let values: [String: String]

    public init(values: [String: String] = [:]) { self.values = values }

    public subscript(name: String) -> String? { values[name] }
}
