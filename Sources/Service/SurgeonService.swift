import Foundation
import HTTP
import Jobs
import Pruning

/// The Surgeon API as one `HTTPHandler`: authentication, routing, problem+json errors and metrics
/// around the handlers in `SurgeonService+*.swift`.
///
/// Wiring (`surgeon serve`): build a `JobManager` with the real `PruneRunner` and a
/// `DiskJobStore`, then `SurgeonService(config:manager:)`, `manager.start()`, and hand the service
/// to the HTTP server. `SurgeonService.make(config:runner:)` does all of that but the server.
public final class SurgeonService: HTTPHandler, @unchecked Sendable {
    public let config: ServiceConfig
    public let manager: JobManager
    public let models: BlobStore
    public let texts: BlobStore
    let auth: TokenAuthenticator
    let metrics: Metrics
    let clock: WallClock
    let digests = DigestCache()
    let finishedJobs = TerminalJobCache()
    private var router = Router()
    private let lock = NSLock()
    private var inFlightKeys: Set<String> = []
    /// Per-job memory limit in bytes.
    public let memoryLimit: Int
    /// How server places are named in what clients see (`ServiceConfig.clientText`).
    let clientText: ClientText

    /// A service over `manager`, keeping models and texts under `config.dataDir`.
    public init(config: ServiceConfig, manager: JobManager, tokens: [ServiceConfig.Token]? = nil, clock: WallClock = SystemClock()) throws {
        self.config = config
        self.manager = manager
        self.clock = clock
        let data = URL(fileURLWithPath: config.dataDir, isDirectory: true)
        let tmp = data.appendingPathComponent("tmp", isDirectory: true)
        self.models = try BlobStore(root: data.appendingPathComponent("models", isDirectory: true), tmp: tmp)
        self.texts = try BlobStore(root: data.appendingPathComponent("texts", isDirectory: true), tmp: tmp)
        self.auth = TokenAuthenticator(tokens: try tokens ?? config.allTokens())
        self.memoryLimit = config.maxJobMemoryBytes ?? Int(Double(ProcessInfo.processInfo.physicalMemory) * 0.8)
        self.clientText = config.clientText
        let routes = Self.routes()
        metrics = Metrics(routes: routes.routes.map(\.template) + ["unmatched"])
        router = routes
    }

    /// Builds the disk store, the job manager with `runner` and the service; the caller starts
    /// `service.manager` and serves `service`.
    public static func make(config: ServiceConfig, runner: any PruneRunner) throws -> SurgeonService {
        let store = try DiskJobStore(root: URL(fileURLWithPath: config.dataDir).appendingPathComponent("jobs"))
        let manager = JobManager(store: store, runner: runner,
                                 options: .init(workers: config.workers, queueCapacity: config.queueCapacity,
                                                crashRetries: config.jobCrashRetries,
                                                memoryBudget: config.memoryBudgetBytes ?? Int(Double(ProcessInfo.processInfo.physicalMemory) * 0.8),
                                                clientText: config.clientText))
        return try SurgeonService(config: config, manager: manager)
    }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        let started = Date()
        var request = request
        let inner = request.body, m = metrics
        request.body = HTTPBodyReader { max in
            let chunk = try inner.read(maxBytes: max)
            if let chunk { m.add(bytesIn: chunk.count) }
            return chunk
        }
        var template = "unmatched"
        var response: HTTPResponse
        do {
            switch router.match(method: request.method, path: request.path) {
            case .notFound:
                throw Problem.routeNotFound(request.path)
            case .methodNotAllowed(let allowed):
                throw Problem.methodNotAllowed(request.method, allowed: allowed)
            case .found(let route, let params):
                template = route.template
                var owner = ""
                if route.action.authenticated {
                    switch auth.authenticate(request.headers["Authorization"]) {
                    case .success(let o): owner = o
                    case .failure(let p): throw p
                    }
                }
                response = try route.action.run(self, RouteContext(request: request, params: params, owner: owner, template: template))
            }
        } catch let p as Problem {
            response = clientResponse(p, instance: request.path)
        } catch let e as HTTPError {
            response = clientResponse(Problem.body(e), instance: request.path)
        } catch {
            response = clientResponse(Problem.internalError(String(describing: error)), instance: request.path)
        }
        response = countingBytesOut(response)
        response.route = template
        metrics.record(route: template, method: request.method, status: response.status, seconds: Date().timeIntervalSince(started))
        return response
    }

    /// A missing or unknown token on an authenticated route, refused from the head alone: the HTTP
    /// server sends the 401 before reading any body and closes, so no unauthenticated client can
    /// hold a connection by trickling a body.
    public func headCheck(_ head: HTTPRequestHead) -> HTTPResponse? {
        guard let path = HTTPRequestTarget.split(head.target)?.path,
              case .found(let route, _) = router.match(method: head.method, path: path), route.action.authenticated,
              case .failure(let problem) = auth.authenticate(head.headers["Authorization"]) else { return nil }
        var response = countingBytesOut(clientResponse(problem, instance: path))
        response.route = route.template
        metrics.record(route: route.template, method: head.method, status: response.status, seconds: 0)
        return response
    }

    /// The response for `problem` with its detail as clients may see it (`Problem.forClient`); the detail of a
    /// server-side failure (5xx) is logged in full first.
    func clientResponse(_ problem: Problem, instance: String) -> HTTPResponse {
        if problem.status >= 500 {
            FileHandle.standardError.write(Data("surgeon: \(instance): \(problem.status) \(problem.code): \(problem.detail)\n".utf8))
        }
        return problem.forClient(clientText).response(instance: instance)
    }

    private func countingBytesOut(_ r: HTTPResponse) -> HTTPResponse {
        var r = r
        switch r.body {
        case .bytes(let b): metrics.add(bytesOut: b.count)
        case .file(_, _, let length): metrics.add(bytesOut: length)
        case .stream(let produce):
            let m = metrics
            r.body = .stream { writer in
                try produce(HTTPBodyWriter { bytes in try writer.write(bytes); m.add(bytesOut: bytes.count) })
            }
        }
        return r
    }

    /// The request body limit the HTTP server should apply: none for uploads (the handler enforces
    /// `max_upload_bytes` while streaming), `max_json_bytes` for everything else.
    public func bodyLimit(for head: HTTPRequestHead) -> Int? {
        if head.method == "PUT" && (head.target.hasPrefix("/v1/models/") || head.target.hasPrefix("/v1/texts/")) { return nil }
        return config.maxJSONBytes
    }

    /// Claims an idempotency key for the duration of a request; `false` if another holds it.
    func claim(_ key: String) -> Bool { lock.withLock { inFlightKeys.insert(key).inserted } }
    func release(_ key: String) { _ = lock.withLock { inFlightKeys.remove(key) } }

    private static func routes() -> Router {
        var r = Router()
        r.add("GET", "/healthz", RouteAction(authenticated: false) { s, c in s.healthz(c) })
        r.add("GET", "/readyz", RouteAction(authenticated: false) { s, c in try s.readyz(c) })
        r.add("GET", "/metrics", RouteAction(authenticated: false) { s, c in try s.metricsText(c) })
        for kind in BlobKind.allCases {
            r.add("GET", "/v1/\(kind.rawValue)", RouteAction(authenticated: true) { s, c in try s.listBlobs(kind, c) })
            r.add("POST", "/v1/\(kind.rawValue)", RouteAction(authenticated: true) { s, c in try s.registerBlob(kind, c) })
            r.add("PUT", "/v1/\(kind.rawValue)/{name}", RouteAction(authenticated: true) { s, c in try s.uploadBlob(kind, c) })
            r.add("GET", "/v1/\(kind.rawValue)/{name}", RouteAction(authenticated: true) { s, c in try s.getBlob(kind, c) })
            r.add("DELETE", "/v1/\(kind.rawValue)/{name}", RouteAction(authenticated: true) { s, c in try s.deleteBlob(kind, c) })
        }
        r.add("POST", "/v1/jobs", RouteAction(authenticated: true) { s, c in try s.createJob(c) })
        r.add("GET", "/v1/jobs", RouteAction(authenticated: true) { s, c in try s.listJobs(c) })
        r.add("GET", "/v1/jobs/{id}", RouteAction(authenticated: true) { s, c in try s.getJob(c) })
        r.add("DELETE", "/v1/jobs/{id}", RouteAction(authenticated: true) { s, c in try s.deleteJob(c) })
        r.add("POST", "/v1/jobs/{id}/cancel", RouteAction(authenticated: true) { s, c in try s.cancelJob(c) })
        r.add("GET", "/v1/jobs/{id}/events", RouteAction(authenticated: true) { s, c in try s.jobEvents(c) })
        r.add("GET", "/v1/jobs/{id}/checkpoints", RouteAction(authenticated: true) { s, c in try s.jobCheckpoints(c) })
        r.add("GET", "/v1/jobs/{id}/artifacts", RouteAction(authenticated: true) { s, c in try s.listArtifacts(c) })
        r.add("GET", "/v1/jobs/{id}/artifacts/{name}", RouteAction(authenticated: true) { s, c in try s.getArtifact(c) })
        r.add("GET", "/v1/jobs/{id}/archive.tar.gz", RouteAction(authenticated: true) { s, c in try s.archive(c) })
        return r
    }
}

