/// The lifecycle and timeouts of one connection, as a value type: the I/O shell reports what happened
/// and asks for the next deadline; when `poll()` times out it asks what to do.
///
/// ```
/// idle ──bytes──► readingHead ──head──► handling ⇄ readingBody (handler waits for body bytes)
///   ▲                                       │ response sent, keep-alive and not stopping
///   └───────────────────────────────────────┘ otherwise ──► closed
/// ```
/// The header timeout runs from the first byte of a request, so a client that trickles its headers
/// (slowloris) is dropped; the idle timeout runs from the end of the previous response; the body
/// timeout is an inactivity timeout per read.
public struct HTTPConnectionStateMachine: Sendable, Equatable {
    /// Timeouts in seconds.
    public struct Timeouts: Sendable, Equatable {
        public var headerRead: Double
        public var idle: Double
        public var bodyRead: Double

        public init(headerRead: Double = 10, idle: Double = 60, bodyRead: Double = 30) {
            self.headerRead = headerRead; self.idle = idle; self.bodyRead = bodyRead
        }
    }

    public enum State: Sendable, Equatable {
        case idle(since: Double)
        case readingHead(since: Double)
        case handling
        case readingBody(since: Double)
        case closed
    }

    /// What the shell should do.
    public enum Action: Sendable, Equatable {
        case none
        /// Close without answering (idle connection, or a body read that timed out).
        case close
        /// Answer with this status (408) and close.
        case respondAndClose(status: Int)
    }

    public let timeouts: Timeouts
    public private(set) var state: State
    public private(set) var isStopping = false

    public init(timeouts: Timeouts = Timeouts(), now: Double) {
        self.timeouts = timeouts
        self.state = .idle(since: now)
    }

    /// When the current wait must end, or `nil` when no timeout applies (the handler is running).
    public func deadline() -> Double? {
        switch state {
        case .idle(let since): return isStopping ? since : since + timeouts.idle
        case .readingHead(let since): return since + timeouts.headerRead
        case .readingBody(let since): return since + timeouts.bodyRead
        case .handling, .closed: return nil
        }
    }

    /// Bytes arrived from the client.
    public mutating func bytesReceived(now: Double) {
        switch state {
        case .idle: state = .readingHead(since: now)
        case .readingBody: state = .readingBody(since: now)
        default: break
        }
    }

    /// A complete request head was parsed; the handler runs next.
    public mutating func headReceived() { state = .handling }

    /// The handler waits for body bytes.
    public mutating func bodyWaitStarted(now: Double) { if state == .handling { state = .readingBody(since: now) } }

    /// The body wait ended (bytes, end of body or error).
    public mutating func bodyWaitEnded() { if case .readingBody = state { state = .handling } }

    /// The response was sent. Returns `.close` unless the connection goes back to idle.
    public mutating func responseSent(now: Double, keepAlive: Bool) -> Action {
        guard keepAlive && !isStopping && state != .closed else { state = .closed; return .close }
        state = .idle(since: now)
        return .none
    }

    /// Whether the next response may keep the connection open.
    public func mayKeepAlive(requested: Bool) -> Bool { requested && !isStopping }

    /// A wait reached its deadline (or the shell was woken); says what to do at `now`.
    public mutating func timedOut(now: Double) -> Action {
        guard let deadline = deadline(), now >= deadline else { return .none }
        switch state {
        case .idle: state = .closed; return .close
        case .readingHead: state = .closed; return .respondAndClose(status: 408)
        case .readingBody: state = .closed; return .close
        case .handling, .closed: return .none
        }
    }

    /// The server is shutting down: idle connections close now, busy ones after their response.
    public mutating func stop() -> Action {
        isStopping = true
        if case .idle = state { state = .closed; return .close }
        return .none
    }

    /// The peer closed or an I/O error occurred.
    public mutating func closed() { state = .closed }
}
