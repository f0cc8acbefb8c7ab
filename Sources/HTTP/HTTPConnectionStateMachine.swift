/// The lifecycle and timeouts of one connection, as a value type: the I/O shell reports what happened
/// and asks for the next deadline; when `poll()` times out it asks what to do.
///
/// ```
/// idle ──bytes──► readingHead ──head──► handling ⇄ readingBody (handler waits for body bytes)
///   ▲                                       │ response sent, keep-alive and not stopping
///   └───────────────────────────────────────┘ otherwise ──► closed
/// ```
/// The header timeout runs from the first byte of a request, so a client that trickles its headers
/// (slowloris) is dropped; the idle timeout runs from the end of the previous response, and the
/// shorter first-byte timeout from the accept of a connection that has not sent anything yet. A
/// body has two: an inactivity timeout per read, and a deadline for the whole body (`bodyTotal`
/// seconds from the first body wait, extended by the bytes received at `minBodyBytesPerSecond`),
/// so a body trickled a byte at a time is dropped while a large upload at a fair rate is not.
public struct HTTPConnectionStateMachine: Sendable, Equatable {
    /// Timeouts in seconds.
    public struct Timeouts: Sendable, Equatable {
        public var headerRead: Double
        public var idle: Double
        public var bodyRead: Double
        /// A new connection that sends nothing for this long is closed.
        public var firstByte: Double
        /// The whole body must arrive within this many seconds of the first body wait, plus one
        /// second per `minBodyBytesPerSecond` bytes received.
        public var bodyTotal: Double
        public var minBodyBytesPerSecond: Double

        public init(headerRead: Double = 10, idle: Double = 60, bodyRead: Double = 30, firstByte: Double = 5,
                    bodyTotal: Double = 60, minBodyBytesPerSecond: Double = 64 * 1024) {
            self.headerRead = headerRead; self.idle = idle; self.bodyRead = bodyRead; self.firstByte = firstByte
            self.bodyTotal = bodyTotal; self.minBodyBytesPerSecond = max(1, minBodyBytesPerSecond)
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
    /// Whether the client has sent anything on this connection.
    public private(set) var hasReceivedBytes = false
    /// The current request's first body wait, and the body bytes received since.
    private var bodyStart: Double?
    private var bodyBytes = 0

    public init(timeouts: Timeouts = Timeouts(), now: Double) {
        self.timeouts = timeouts
        self.state = .idle(since: now)
    }

    /// When the current wait must end, or `nil` when no timeout applies (the handler is running).
    public func deadline() -> Double? {
        switch state {
        case .idle(let since): return isStopping ? since : since + (hasReceivedBytes ? timeouts.idle : min(timeouts.idle, timeouts.firstByte))
        case .readingHead(let since): return since + timeouts.headerRead
        case .readingBody(let since):
            let whole = (bodyStart ?? since) + timeouts.bodyTotal + Double(bodyBytes) / timeouts.minBodyBytesPerSecond
            return min(since + timeouts.bodyRead, whole)
        case .handling, .closed: return nil
        }
    }

    /// `count` bytes arrived from the client.
    public mutating func bytesReceived(now: Double, count: Int = 0) {
        hasReceivedBytes = true
        switch state {
        case .idle: state = .readingHead(since: now)
        case .readingBody: state = .readingBody(since: now); bodyBytes += count
        default: break
        }
    }

    /// A complete request head was parsed; the handler runs next.
    public mutating func headReceived() { state = .handling; bodyStart = nil; bodyBytes = 0 }

    /// The handler waits for body bytes (the first wait of a request starts the whole-body deadline).
    public mutating func bodyWaitStarted(now: Double) {
        guard state == .handling else { return }
        if bodyStart == nil { bodyStart = now }
        state = .readingBody(since: now)
    }

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
