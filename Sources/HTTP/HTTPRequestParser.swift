/// An incremental HTTP/1.1 request parser: a value type that is fed bytes and pulled for events.
///
/// The I/O shell calls `feed(_:)` with whatever the socket produced and then `next()` until it
/// answers `.needMoreData`. Because events are pulled one at a time the shell reads the socket only
/// when the current request needs more bytes, pipelined requests wait in the buffer, and the body
/// limit can be changed after `.head` is seen. Errors are terminal and carry the status to answer.
public struct HTTPRequestParser: Sendable {
    /// Size limits enforced while parsing.
    public struct Limits: Sendable, Equatable {
        /// Request line plus header fields, in bytes (431 when exceeded).
        public var maxHeaderBytes: Int
        /// Number of header fields (431 when exceeded).
        public var maxHeaderCount: Int
        /// One chunk-size line including extensions (400 when exceeded).
        public var maxChunkLineBytes: Int
        /// Default body limit for each message (413); `nil` means unlimited.
        public var maxBodyBytes: Int?

        public init(maxHeaderBytes: Int = 16 * 1024, maxHeaderCount: Int = 100,
                    maxChunkLineBytes: Int = 1024, maxBodyBytes: Int? = 1 << 20) {
            self.maxHeaderBytes = maxHeaderBytes; self.maxHeaderCount = maxHeaderCount
            self.maxChunkLineBytes = maxChunkLineBytes; self.maxBodyBytes = maxBodyBytes
        }
    }

    /// What the parser found next.
    public enum Event: Sendable, Equatable {
        case head(HTTPRequestHead)
        case body([UInt8])
        /// The current message is complete; the next event belongs to the next request.
        case end
        case needMoreData
        case error(HTTPParseError)
    }

    enum State: Sendable, Equatable {
        case head
        case lengthBody(remaining: Int)
        case chunkLine
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case failed(HTTPParseError)
    }

    public var limits: Limits
    /// The body limit of the current message; reset to `limits.maxBodyBytes` at every head and may be
    /// raised or lowered by the shell after `.head`.
    public var bodyLimit: Int?
    /// Body bytes of the current message produced so far.
    public private(set) var bodyBytesSeen = 0
    /// Trailer fields of the last chunked message.
    public private(set) var trailers = HTTPHeaders()

    private(set) var state: State = .head
    private var buffer: [UInt8] = []
    private var start = 0
    private var scanned = 0
    private var trailerBytes = 0

    public init(limits: Limits = Limits()) {
        self.limits = limits
        self.bodyLimit = limits.maxBodyBytes
    }

    /// Bytes received but not yet consumed.
    public var bufferedByteCount: Int { buffer.count - start }
    /// True between messages (nothing of the next request parsed yet, though bytes may be buffered).
    public var isAtMessageStart: Bool { state == .head }
    /// True while a message body is being parsed.
    public var isInBody: Bool {
        switch state {
        case .lengthBody, .chunkLine, .chunkData, .chunkDataEnd, .trailers: return true
        default: return false
        }
    }
    /// The error the parser stopped at, if any.
    public var failure: HTTPParseError? { if case .failed(let e) = state { return e } else { return nil } }

    /// Appends received bytes.
    public mutating func feed<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if start > 0 && (start >= buffer.count || start > 4096 && start * 2 > buffer.count) {
            buffer.removeSubrange(0..<start)
            scanned = max(0, scanned - start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Feeds `bytes` and collects events until more data is needed or an error occurs.
    public mutating func parse<C: Collection>(_ bytes: C) -> [Event] where C.Element == UInt8 {
        feed(bytes)
        var events: [Event] = []
        while true {
            let e = next()
            if e == .needMoreData { return events }
            events.append(e)
            if case .error = e { return events }
        }
    }

    /// The next event; `maxBodyChunk` caps the size of one `.body` event.
    public mutating func next(maxBodyChunk: Int = 1 << 20) -> Event {
        switch state {
        case .failed(let e):
            return .error(e)
        case .head:
            return nextHead()
        case .lengthBody(let remaining):
            if remaining == 0 { state = .head; return .end }
            if let limit = bodyLimit, remaining > limit - bodyBytesSeen {
                return fail(HTTPParseError(status: 413, "body exceeds \(limit) bytes"))
            }
            guard bufferedByteCount > 0 else { return .needMoreData }
            let n = min(remaining, bufferedByteCount, maxBodyChunk)
            state = .lengthBody(remaining: remaining - n)
            return .body(take(n))
        case .chunkLine:
            return nextChunkLine()
        case .chunkData(let remaining):
            guard bufferedByteCount > 0 else { return .needMoreData }
            let n = min(remaining, bufferedByteCount, maxBodyChunk)
            state = remaining == n ? .chunkDataEnd : .chunkData(remaining: remaining - n)
            return .body(take(n))
        case .chunkDataEnd:
            guard bufferedByteCount >= 2 else { return .needMoreData }
            guard buffer[start] == cr && buffer[start + 1] == lf else {
                return fail(.bad("chunk data not followed by CRLF"))
            }
            start += 2
            state = .chunkLine
            return next(maxBodyChunk: maxBodyChunk)
        case .trailers:
            return nextTrailer()
        }
    }

    private mutating func fail(_ error: HTTPParseError) -> Event {
        state = .failed(error)
        return .error(error)
    }

    private mutating func take(_ n: Int) -> [UInt8] {
        defer { start += n }
        bodyBytesSeen += n
        return Array(buffer[start..<start + n])
    }

    /// Index just past the next CRLF at or after `from`, `nil` if none yet, or an error on a bare LF.
    private func lineEnd(from: Int) -> Result<Int?, HTTPParseError> {
        var i = from
        while i < buffer.count {
            if buffer[i] == lf {
                guard i > start && buffer[i - 1] == cr else { return .failure(.bad("bare LF line ending")) }
                return .success(i + 1)
            }
            i += 1
        }
        return .success(nil)
    }

    private mutating func nextHead() -> Event {
        // RFC 9112 §2.2: ignore empty lines before the request line.
        while bufferedByteCount >= 2 && buffer[start] == cr && buffer[start + 1] == lf { start += 2; scanned = start }
        if bufferedByteCount == 1 && buffer[start] == cr { return .needMoreData }
        var end: Int?
        var i = max(start, scanned)
        var sawLine = false
        while i < buffer.count {
            if buffer[i] == lf {
                guard i > start && buffer[i - 1] == cr else { return fail(.bad("bare LF in header section")) }
                sawLine = true
                if i - start >= 3 && buffer[i - 2] == lf && buffer[i - 3] == cr { end = i + 1; break }
            }
            i += 1
        }
        guard let end else {
            scanned = buffer.count
            if bufferedByteCount > limits.maxHeaderBytes {
                let lineSeen = sawLine || buffer[start..<buffer.count].contains(lf)
                return fail(HTTPParseError(status: lineSeen ? 431 : 414, "header section exceeds \(limits.maxHeaderBytes) bytes"))
            }
            return .needMoreData
        }
        if end - start > limits.maxHeaderBytes {
            return fail(HTTPParseError(status: 431, "header section exceeds \(limits.maxHeaderBytes) bytes"))
        }
        let result = buffer.withUnsafeBufferPointer { all in
            Self.parseHead(UnsafeBufferPointer(rebasing: all[start..<end - 4]), limits: limits)
        }
        start = end
        scanned = end
        switch result {
        case .failure(let e):
            return fail(e)
        case .success(let head):
            bodyBytesSeen = 0
            bodyLimit = limits.maxBodyBytes
            trailers = HTTPHeaders()
            trailerBytes = 0
            switch head.framing {
            case .none: state = .lengthBody(remaining: 0)
            case .length(let n): state = .lengthBody(remaining: n)
            case .chunked: state = .chunkLine
            }
            return .head(head)
        }
    }

    private mutating func nextChunkLine() -> Event {
        let found: Int?
        switch lineEnd(from: start) {
        case .failure(let e): return fail(e)
        case .success(let f): found = f
        }
        guard let end = found else {
            if bufferedByteCount > limits.maxChunkLineBytes { return fail(.bad("chunk size line too long")) }
            return .needMoreData
        }
        if end - start > limits.maxChunkLineBytes { return fail(.bad("chunk size line too long")) }
        var size = 0
        var i = start
        var digits = 0
        while i < end - 2, let d = hexValue(buffer[i]) {
            guard size <= (Int.max - 15) >> 4 else { return fail(.bad("chunk size overflows")) }
            size = size << 4 | d
            i += 1; digits += 1
        }
        guard digits > 0 else { return fail(.bad("chunk size is not hexadecimal")) }
        while i < end - 2 && (buffer[i] == sp || buffer[i] == tab) { i += 1 }
        if i < end - 2 {
            guard buffer[i] == semicolon else { return fail(.bad("invalid character after chunk size")) }
            for j in i..<end - 2 where isControl(buffer[j]) { _ = j; return fail(.bad("control character in chunk extension")) }
        }
        start = end
        if size == 0 { state = .trailers; return nextTrailer() }
        if let limit = bodyLimit, size > limit - bodyBytesSeen {
            return fail(HTTPParseError(status: 413, "body exceeds \(limit) bytes"))
        }
        state = .chunkData(remaining: size)
        return next()
    }

    private mutating func nextTrailer() -> Event {
        let found: Int?
        switch lineEnd(from: start) {
        case .failure(let e): return fail(e)
        case .success(let f): found = f
        }
        guard let end = found else {
            if trailerBytes + bufferedByteCount > limits.maxHeaderBytes {
                return fail(HTTPParseError(status: 431, "trailer section too large"))
            }
            return .needMoreData
        }
        trailerBytes += end - start
        if trailerBytes > limits.maxHeaderBytes { return fail(HTTPParseError(status: 431, "trailer section too large")) }
        if end - start == 2 { start = end; state = .head; return .end }
        let field = buffer.withUnsafeBufferPointer { Self.parseField(UnsafeBufferPointer(rebasing: $0[start..<end - 2])) }
        start = end
        switch field {
        case .failure(let e): return fail(e)
        case .success(let f):
            trailers.add(f.name, f.value)
            if trailers.fields.count > limits.maxHeaderCount { return fail(HTTPParseError(status: 431, "too many trailer fields")) }
            return nextTrailer()
        }
    }
}

let cr: UInt8 = 13, lf: UInt8 = 10, sp: UInt8 = 32, tab: UInt8 = 9, colon: UInt8 = 58, semicolon: UInt8 = 59

@inline(__always) func hexValue(_ b: UInt8) -> Int? {
    switch b {
    case 48...57: return Int(b - 48)
    case 65...70: return Int(b - 55)
    case 97...102: return Int(b - 87)
    default: return nil
    }
}

@inline(__always) func isControl(_ b: UInt8) -> Bool { (b < 32 && b != tab) || b == 127 }
