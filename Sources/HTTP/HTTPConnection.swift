import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The I/O shell of one connection: reads the socket when the parser needs bytes, runs the
/// handler, writes responses, and executes what `HTTPConnectionStateMachine` decides.
final class HTTPConnection: @unchecked Sendable {
    let server: HTTPServer
    let transport: any HTTPTransport
    let ip: String
    let address: String
    let clock: any HTTPClock
    var parser: HTTPRequestParser
    var machine: HTTPConnectionStateMachine
    private let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 128 * 1024, alignment: 16)

    // Per request.
    var continuePending = false
    var bodyDone = true
    var bodyBytesRead = 0
    /// The connection cannot carry another request (timeout, EOF, framing error).
    var broken = false
    var requests = 0
    var rateLimited = 0
    /// Body readers of earlier requests (kept by a handler past its return) must not read the socket.
    var bodyOwner = 0

    // Shared with the server's accept thread, under `idleLock`.
    private let idleLock = NSLock()
    private var idleSinceValue: Double?
    private var evictedValue = false

    init(server: HTTPServer, transport: any HTTPTransport, ip: String, address: String) {
        self.server = server; self.transport = transport; self.ip = ip; self.address = address
        self.clock = server.configuration.clock
        self.parser = HTTPRequestParser(limits: server.configuration.parserLimits)
        self.machine = HTTPConnectionStateMachine(timeouts: server.configuration.timeouts, now: clock.now())
    }

    deinit { readBuffer.deallocate() }

    func run() {
        defer {
            server.connectionFinished(self, requests: requests, rateLimited: rateLimited)
            transport.close()
        }
        if server.tlsContext != nil {
            Socket.setReceiveTimeout(transport.fd, server.configuration.timeouts.headerRead)
            guard Socket.wait(transport.fd, wake: nil, timeout: server.configuration.timeouts.headerRead) == .readable,
                  (try? transport.handshake()) != nil else { return }
            Socket.setReceiveTimeout(transport.fd, max(server.configuration.timeouts.bodyRead, server.configuration.timeouts.headerRead))
        }
        while serveOne() {}
    }

    /// Shuts the socket down from another thread so blocked reads and writes fail.
    func forceClose() { shutdown(transport.fd, Int32(SHUT_RDWR)) }

    /// Since when the connection has been waiting for a request with no byte of it received
    /// (`nil` while busy): the server may evict such a connection to make room.
    var idleSince: Double? { idleLock.withLock { idleSinceValue } }
    var wasEvicted: Bool { idleLock.withLock { evictedValue } }

    /// Closes the connection if it is still idle; false when it has started a request meanwhile.
    func evictIfIdle() -> Bool {
        let taken = idleLock.withLock {
            guard idleSinceValue != nil, !evictedValue else { return false }
            idleSinceValue = nil; evictedValue = true
            return true
        }
        if taken { forceClose() }
        return taken
    }

    /// Leaves the idle state; false when the server evicted the connection first.
    private func leaveIdle() -> Bool {
        idleLock.withLock {
            idleSinceValue = nil
            return !evictedValue
        }
    }

    enum Fill { case data, eof, timedOut(HTTPConnectionStateMachine.Action), stopped }

    /// Waits for and reads more bytes into the parser, honouring the state machine's deadline.
    /// `wakeable` lets a server stop end the wait (only between requests).
    func fill(wakeable: Bool) -> Fill {
        while true {
            if !transport.hasBufferedInput {
                let deadline = machine.deadline()
                var idle = false
                if case .idle(let since) = machine.state, parser.bufferedByteCount == 0 {
                    idle = true
                    idleLock.withLock { idleSinceValue = since }
                }
                let ready = Socket.wait(transport.fd, wake: wakeable && !machine.isStopping ? server.wakeFD : nil,
                                        timeout: deadline.map { max(0, $0 - clock.now()) })
                if idle && !leaveIdle() { machine.closed(); return .eof }
                switch ready {
                case .woken:
                    if machine.stop() == .close { return .stopped }
                    continue
                case .timeout:
                    let action = machine.timedOut(now: clock.now())
                    if action == .none { continue }
                    return .timedOut(action)
                case .readable:
                    break
                }
            }
            let n: Int
            do { n = try transport.read(into: readBuffer) } catch HTTPError.timeout { continue } catch { return .eof }
            guard n > 0 else { machine.closed(); return .eof }
            parser.feed(UnsafeBufferPointer(start: readBuffer.baseAddress!.assumingMemoryBound(to: UInt8.self), count: n))
            machine.bytesReceived(now: clock.now(), count: n)
            return .data
        }
    }

    /// Serves one request; false when the connection should close.
    func serveOne() -> Bool {
        let head: HTTPRequestHead
        headLoop: while true {
            switch parser.next() {
            case .head(let h):
                head = h
                break headLoop
            case .needMoreData:
                switch fill(wakeable: parser.bufferedByteCount == 0) {
                case .data: continue
                case .eof, .stopped, .timedOut(.close), .timedOut(.none): return false
                case .timedOut(.respondAndClose(let status)):
                    writeSimple(status: status, reason: "request header timeout")
                    return false
                }
            case .error(let e):
                writeSimple(status: e.status, reason: e.reason)
                return false
            case .body, .end:
                return false
            }
        }
        machine.headReceived()
        requests += 1
        bodyDone = false
        bodyBytesRead = 0
        continuePending = head.expectsContinue && head.framing != .none && head.framing != .length(0)
        let started = clock.now()
        if server.isStopping { _ = machine.stop() }

        var response: HTTPResponse
        var path = head.target
        var early = false
        if let (decodedPath, query) = HTTPRequestTarget.split(head.target) {
            path = decodedPath
            (response, early) = respond(to: head, path: decodedPath, query: query)
        } else {
            response = Self.problem(400, "the request target has invalid percent-encoding")
        }
        // Answered from the head alone: an unread body is not waited for; the connection closes.
        let hasBody = head.framing != .none && head.framing != .length(0)
        let clean = early && hasBody ? false : drainBody()
        bodyOwner = -1
        if server.isStopping { _ = machine.stop() }
        var keepAlive = clean && machine.mayKeepAlive(requested: head.keepAlive)
            && !(response.headers["Connection"]?.lowercased().contains("close") ?? false)
        if case .stream = response.body, head.version.minor == 0 { keepAlive = false }
        let sent = write(response, for: head, keepAlive: keepAlive)
        let entry = HTTPAccessLogEntry(method: head.method, path: path, route: response.route, status: response.status,
                                       bytesSent: sent ?? 0, bytesReceived: bodyBytesRead, duration: clock.now() - started,
                                       remoteAddress: address, userAgent: head.headers["User-Agent"])
        server.configuration.accessLog?(entry)
        server.configuration.metrics?(entry)
        guard sent != nil, machine.responseSent(now: clock.now(), keepAlive: keepAlive) == .none else {
            if !clean && sent != nil { lingeringClose() }
            return false
        }
        if parser.bufferedByteCount > 0 { machine.bytesReceived(now: clock.now()) }
        return true
    }

    /// Rate limit, body limit, the handler's head check, then the handler. `early`: answered
    /// from the head, before any of the body was read.
    private func respond(to head: HTTPRequestHead, path: String,
                         query: [(name: String, value: String)]) -> (response: HTTPResponse, early: Bool) {
        if let limiter = server.rateLimiter, let wait = limiter.admit(ip) {
            rateLimited += 1
            var r = Self.problem(429, "too many requests from \(ip)")
            r.headers["Retry-After"] = String(wait)
            return (r, true)
        }
        if let override = server.configuration.bodyLimit { parser.bodyLimit = override(head) }
        if case .length(let n) = head.framing, let limit = parser.bodyLimit, n > limit {
            return (Self.problem(413, "the request body of \(n) bytes exceeds the limit of \(limit) bytes"), true)
        }
        if let rejected = server.handler.headCheck(head) { return (rejected, true) }
        bodyOwner = requests
        let owner = requests
        let request = HTTPRequest(method: head.method, target: head.target, path: path, query: query,
                                  headers: head.headers, body: HTTPBodyReader { [self] max in
                                      guard owner == bodyOwner else { throw HTTPError.connectionClosed }
                                      return try readBody(max)
                                  },
                                  remoteAddress: address)
        return (server.handler.handle(request), false)
    }

    /// Pulls the next piece of the request body for the handler.
    func readBody(_ max: Int) throws -> [UInt8]? {
        if bodyDone { return nil }
        if broken { throw HTTPError.connectionClosed }
        if continuePending {
            continuePending = false
            try transport.write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        }
        while true {
            switch parser.next(maxBodyChunk: Swift.max(1, max)) {
            case .body(let bytes):
                bodyBytesRead += bytes.count
                return bytes
            case .end:
                bodyDone = true
                return nil
            case .error(let e):
                broken = true
                throw e.status == 413 ? HTTPError.bodyTooLarge(limit: parser.bodyLimit ?? 0) : HTTPError.malformed(e.reason)
            case .head:
                broken = true
                throw HTTPError.malformed("unexpected request head inside a body")
            case .needMoreData:
                machine.bodyWaitStarted(now: clock.now())
                let result = fill(wakeable: false)
                machine.bodyWaitEnded()
                switch result {
                case .data: continue
                case .timedOut: broken = true; throw HTTPError.timeout
                case .eof, .stopped: broken = true; throw HTTPError.connectionClosed
                }
            }
        }
    }

    /// Reads and discards what the handler left of the body; false when the connection must close.
    private func drainBody() -> Bool {
        if bodyDone { return !broken }
        if broken || continuePending { return false }
        var drained = 0
        while drained <= server.configuration.maxDrainBytes {
            do {
                guard let piece = try readBody(64 * 1024) else { return true }
                drained += piece.count
            } catch { return false }
        }
        return false
    }

    /// Half-closes and discards what the client is still sending (up to 1 s, until it pauses for
    /// 100 ms) so that it reads the response instead of a connection reset.
    private func lingeringClose() {
        shutdown(transport.fd, Int32(SHUT_WR))
        let end = clock.now() + 1
        while clock.now() < end, Socket.wait(transport.fd, wake: nil, timeout: min(0.1, end - clock.now())) == .readable {
            guard let n = try? transport.read(into: readBuffer), n > 0 else { return }
        }
    }

    /// A `application/problem+json` response.
    static func problem(_ status: Int, _ detail: String) -> HTTPResponse {
        let title = HTTPStatus.reason(status)
        let json = "{\"type\":\"about:blank\",\"title\":\"\(title)\",\"status\":\(status),\"detail\":\"\(jsonEscaped(detail))\"}"
        return HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", "application/problem+json")]),
                            body: .bytes(Array(json.utf8)))
    }

    /// Answers a request that could not be parsed and marks the connection for closing.
    func writeSimple(status: Int, reason: String) {
        let head = HTTPRequestHead(method: "GET", target: "/", keepAlive: false)
        let sent = write(Self.problem(status, reason), for: head, keepAlive: false)
        let entry = HTTPAccessLogEntry(method: "-", path: "-", route: nil, status: status, bytesSent: sent ?? 0,
                                       bytesReceived: 0, duration: 0, remoteAddress: address, userAgent: nil)
        server.configuration.accessLog?(entry)
        server.configuration.metrics?(entry)
        if sent != nil { lingeringClose() }
    }
}

func jsonEscaped(_ s: String) -> String {
    var out = ""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out
}
