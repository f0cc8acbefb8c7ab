import HTTP

/// Matches `METHOD /path` against templates like `/v1/jobs/{id}/events`.
struct Router: Sendable {
    struct Route: Sendable {
        var method: String
        var template: String
        var segments: [String]
        var action: RouteAction
    }

    /// The outcome of matching a request.
    enum Match {
        case found(Route, [String: String])
        case methodNotAllowed([String])
        case notFound
    }

    private(set) var routes: [Route] = []

    mutating func add(_ method: String, _ template: String, _ action: RouteAction) {
        routes.append(Route(method: method, template: template, segments: Self.split(template), action: action))
    }

    func match(method: String, path: String) -> Match {
        let parts = Self.split(path)
        var allowed: [String] = []
        for route in routes {
            guard let params = Self.bind(route.segments, parts) else { continue }
            if route.method == method || (method == "HEAD" && route.method == "GET" && !routes.contains { $0.method == "HEAD" && $0.template == route.template }) {
                return .found(route, params)
            }
            allowed.append(route.method)
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(Array(Set(allowed)).sorted())
    }

    static func split(_ path: String) -> [String] { path.split(separator: "/", omittingEmptySubsequences: true).map(String.init) }

    static func bind(_ template: [String], _ parts: [String]) -> [String: String]? {
        guard template.count == parts.count else { return nil }
        var params: [String: String] = [:]
        for (t, p) in zip(template, parts) {
            if t.hasPrefix("{") && t.hasSuffix("}") { params[String(t.dropFirst().dropLast())] = p } else if t != p { return nil }
        }
        return params
    }
}

/// What a matched route sees: the request, path parameters and the authenticated owner.
struct RouteContext: Sendable {
    var request: HTTPRequest
    var params: [String: String]
    /// The token's name; empty on open routes.
    var owner: String
    /// The route template, e.g. `/v1/jobs/{id}`.
    var template: String

    func param(_ name: String) -> String { params[name] ?? "" }
}

/// A route handler; throws `Problem` for API errors.
struct RouteAction: Sendable {
    var authenticated: Bool
    var run: @Sendable (SurgeonService, RouteContext) throws -> HTTPResponse
}
