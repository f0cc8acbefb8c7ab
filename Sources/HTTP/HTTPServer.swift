import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An HTTP/1.1 server on BSD sockets: one accept thread, one thread per connection with blocking
/// I/O and `poll()` timeouts, optional TLS.
///
/// ```swift
/// let server = HTTPServer(configuration: .init(port: 0)) { request in
///     HTTPResponse(status: 200, body: .bytes(Array("hi".utf8)))
/// }
/// try server.start()
/// print(server.port)
/// server.stop(gracePeriod: 5)
/// ```
public final class HTTPServer: @unchecked Sendable {
    public let configuration: HTTPServerConfiguration
    let handler: any HTTPHandler
    let rateLimiter: HTTPRateLimiter?
    private(set) var tlsContext: TLSContext?

    private let lock = NSLock()
    private let allDone = NSCondition()
    private var listener: Int32 = -1
    private var wakePipe: [Int32] = [-1, -1]
    private var boundPort = 0
    private var stopping = false
    private var running = false
    private var connections: [ObjectIdentifier: HTTPConnection] = [:]
    /// Open connections per client IP, and how many of `connections` are evicted but not yet gone;
    /// neither counts evicted ones.
    private var perClient: [String: Int] = [:]
    private var evictedOpen = 0
    private var counters = HTTPServerStats()
    private var acceptThreadDone = true

    public init(configuration: HTTPServerConfiguration, handler: any HTTPHandler) {
        self.configuration = configuration
        self.handler = handler
        self.rateLimiter = configuration.rateLimit.map { HTTPRateLimiter(policy: $0, clock: configuration.clock) }
    }

    /// A server whose handler is a closure.
    public convenience init(configuration: HTTPServerConfiguration,
                            handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse) {
        self.init(configuration: configuration, handler: ClosureHandler(body: handler))
    }

    /// The bound port (meaningful after `start()`; resolves port 0).
    public var port: Int { lock.lock(); defer { lock.unlock() }; return boundPort }
    public var isRunning: Bool { lock.lock(); defer { lock.unlock() }; return running }
    var isStopping: Bool { lock.lock(); defer { lock.unlock() }; return stopping }
    /// The read end of a pipe that becomes readable when the server starts stopping.
    var wakeFD: Int32 { wakePipe[0] }
    /// Counters since start.
    public var stats: HTTPServerStats {
        lock.lock(); defer { lock.unlock() }
        var s = counters; s.openConnections = connections.count
        return s
    }

    /// Binds, listens and starts accepting on a background thread. Ignores SIGPIPE process-wide
    /// (writes to closed sockets must fail, not kill the process).
    public func start() throws {
        lock.lock(); defer { lock.unlock() }
        guard !running else { throw HTTPServerError.alreadyStarted }
        if let tls = configuration.tls {
            tlsContext = try TLSContext(certificatePath: tls.certificatePath, privateKeyPath: tls.privateKeyPath)
        }
        signal(SIGPIPE, SIG_IGN)
        let (fd, port) = try Socket.listen(host: configuration.host, port: configuration.port, backlog: configuration.backlog)
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { close(fd); throw HTTPServerError.listen(errno: errno) }
        for f in fds { _ = fcntl(f, F_SETFD, FD_CLOEXEC) }
        listener = fd; wakePipe = fds; boundPort = port
        running = true; stopping = false; acceptThreadDone = false
        counters = HTTPServerStats()
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "http-accept"
        thread.start()
    }

    private func acceptLoop() {
        while true {
            let ready = Socket.wait(listener, wake: wakeFD, timeout: nil)
            if ready != .readable || isStopping { break }
            guard let (fd, ip, address) = Socket.accept(listener) else {
                if errno == EMFILE || errno == ENFILE || errno == ENOMEM { usleep(10_000) }  // out of descriptors: back off
                continue
            }
            Socket.configureAccepted(fd, sendTimeout: configuration.writeTimeout)
            if let status = admit(ip) { rejectBusy(fd, status: status); continue }
            let transport: any HTTPTransport
            if let tlsContext, let t = try? TLSTransport(fd: fd, context: tlsContext) { transport = t }
            else if tlsContext != nil { close(fd); continue }
            else { transport = PlainTransport(fd: fd) }
            let connection = HTTPConnection(server: self, transport: transport, ip: ip, address: address)
            lock.lock()
            connections[ObjectIdentifier(connection)] = connection
            perClient[ip, default: 0] += 1
            lock.unlock()
            let thread = Thread { connection.run() }
            thread.stackSize = 1 << 20
            thread.name = "http-conn"
            thread.start()
        }
        lock.lock(); close(listener); listener = -1; acceptThreadDone = true; lock.unlock()
        allDone.lock(); allDone.broadcast(); allDone.unlock()
    }

    /// Makes room for a new connection from `ip`: `nil` to accept it, else the status to refuse it
    /// with. Over a limit, the longest-idle connection (of that client, or of anyone when the server
    /// is full) is evicted instead of refusing.
    private func admit(_ ip: String) -> Int? {
        lock.lock(); defer { lock.unlock() }
        counters.acceptedConnections += 1
        var scope: ((HTTPConnection) -> Bool)?
        var status = 0
        if perClient[ip, default: 0] >= configuration.maxConnectionsPerClient {
            scope = { $0.ip == ip }; status = 429
        } else if connections.count - evictedOpen >= configuration.maxConnections {
            scope = { _ in true }; status = 503
        }
        guard let scope else { return nil }
        let idle = connections.values.filter(scope).compactMap { c in c.idleSince.map { (c, $0) } }.sorted { $0.1 < $1.1 }
        for (victim, _) in idle where victim.evictIfIdle() {
            counters.evictedConnections += 1
            evictedOpen += 1
            perClient[victim.ip, default: 1] -= 1
            return nil
        }
        counters.rejectedConnections += 1
        return status
    }

    /// Answers 503 (server full) or 429 (client over its limit) on a refused connection (plain TCP
    /// only; TLS clients just see it close).
    private func rejectBusy(_ fd: Int32, status: Int) {
        if tlsContext == nil {
            let text = "HTTP/1.1 \(status) \(HTTPStatus.reason(status))\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            _ = text.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        }
        close(fd)
    }

    func connectionFinished(_ connection: HTTPConnection, requests: Int, rateLimited: Int) {
        lock.lock()
        connections[ObjectIdentifier(connection)] = nil
        if connection.wasEvicted { evictedOpen -= 1 } else { perClient[connection.ip, default: 1] -= 1 }
        if perClient[connection.ip] == 0 { perClient[connection.ip] = nil }
        counters.requests += requests
        counters.rateLimitedRequests += rateLimited
        lock.unlock()
        allDone.lock(); allDone.broadcast(); allDone.unlock()
    }

    /// Stops accepting, closes idle keep-alive connections, lets in-flight requests finish for up to
    /// `gracePeriod` seconds, then shuts the remaining connections down. Blocks until done.
    public func stop(gracePeriod: Double = 10) {
        lock.lock()
        guard running, !stopping else { lock.unlock(); return }
        stopping = true
        var one: UInt8 = 1
        _ = write(wakePipe[1], &one, 1)
        lock.unlock()

        let deadline = Date().addingTimeInterval(gracePeriod)
        if !waitForConnections(until: deadline) {
            lock.lock()
            for c in connections.values { c.forceClose() }
            lock.unlock()
            _ = waitForConnections(until: Date().addingTimeInterval(2))
        }
        lock.lock()
        for f in wakePipe where f >= 0 { close(f) }
        wakePipe = [-1, -1]
        running = false
        lock.unlock()
        allDone.lock(); allDone.broadcast(); allDone.unlock()
    }

    /// Waits until the accept thread and all connections are gone; false on timeout.
    private func waitForConnections(until deadline: Date) -> Bool {
        allDone.lock(); defer { allDone.unlock() }
        while true {
            lock.lock(); let done = connections.isEmpty && acceptThreadDone; lock.unlock()
            if done { return true }
            if !allDone.wait(until: min(deadline, Date().addingTimeInterval(0.05))) && Date() >= deadline { return false }
        }
    }

    /// Blocks the calling thread until the server has stopped (for `surgeon serve`).
    public func waitUntilStopped() {
        allDone.lock(); defer { allDone.unlock() }
        while isRunning { allDone.wait() }
    }
}

/// Adapts a closure to `HTTPHandler`.
public struct ClosureHandler: HTTPHandler {
    public let body: @Sendable (HTTPRequest) -> HTTPResponse
    public init(body: @escaping @Sendable (HTTPRequest) -> HTTPResponse) { self.body = body }
    public func handle(_ request: HTTPRequest) -> HTTPResponse { body(request) }
}
