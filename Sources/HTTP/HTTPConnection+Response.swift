import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Framing and writing responses: Content-Length or chunked, HEAD, gzip, files.
extension HTTPConnection {
    /// Writes `response`; returns the body bytes sent, or `nil` when the connection broke.
    func write(_ response: HTTPResponse, for head: HTTPRequestHead, keepAlive: Bool) -> Int? {
        // HTTP/1.0 has no chunked encoding: a streamed body is delimited by closing the connection
        // (`serveOne` never keeps such a connection alive).
        let chunked = head.version.minor == 1
        let isHead = head.method == "HEAD"
        let noBody = response.status < 200 || response.status == 204 || response.status == 304
        var gzip = !noBody && shouldGzip(response, head)
        // A bytes body is compressed before the head is written, so a compression failure sends the
        // identity body without `Content-Encoding` (never a gzip header over an empty body).
        var encodedBytes: [UInt8]?
        if gzip, case .bytes(let bytes) = response.body {
            let (body, gzipped) = Gzip.encodeBody(bytes)
            encodedBytes = body
            gzip = gzipped
        }
        var headers = response.headers
        if gzip {
            headers["Content-Encoding"] = "gzip"
            headers["Vary"] = appendingVary(headers["Vary"])
        } else if response.compression != .none, response.headers["Content-Encoding"] == nil, case .bytes = response.body,
                  isCompressible(response) {
            headers["Vary"] = appendingVary(headers["Vary"])
        }
        var text = "HTTP/1.1 \(response.status) \(HTTPStatus.reason(response.status))\r\n"
        let explicitLength = isHead ? response.headers["Content-Length"] : nil
        for (name, value) in headers {
            let lower = name.lowercased()
            if lower == "content-length" || lower == "transfer-encoding" || lower == "connection" { continue }
            if name.utf8.contains(where: { $0 == cr || $0 == lf }) || value.utf8.contains(where: { $0 == cr || $0 == lf }) { continue }
            text += "\(name): \(value)\r\n"
        }
        if headers["Date"] == nil { text += "Date: \(HTTPDate.now())\r\n" }
        if let name = server.configuration.serverName, headers["Server"] == nil { text += "Server: \(name)\r\n" }
        if !keepAlive { text += "Connection: close\r\n" } else if head.version.minor == 0 { text += "Connection: keep-alive\r\n" }

        do {
            if noBody {
                try transport.write(Array((text + "\r\n").utf8))
                return 0
            }
            switch response.body {
            case .bytes(let identity):
                let bytes = encodedBytes ?? identity
                text += "Content-Length: \(explicitLength ?? String(bytes.count))\r\n\r\n"
                var out = Array(text.utf8)
                if !isHead { out += bytes }
                try transport.write(out)
                return isHead ? 0 : bytes.count
            case .file(let path, let offset, let length):
                let file = open(path, O_RDONLY | O_CLOEXEC)
                guard file >= 0 else {
                    let r = Self.problem(500, "cannot open the response file")
                    return write(r, for: head, keepAlive: keepAlive)
                }
                defer { close(file) }
                text += "Content-Length: \(explicitLength ?? String(length))\r\n\r\n"
                try transport.write(Array(text.utf8))
                if !isHead && length > 0 { try transport.sendFile(file, offset: offset, length: length) }
                return isHead ? 0 : length
            case .stream(let produce):
                text += chunked ? "Transfer-Encoding: chunked\r\n\r\n" : "\r\n"
                try transport.write(Array(text.utf8))
                if isHead { return 0 }
                return try writeStream(produce, chunked: chunked, gzip: gzip, endsAtShutdown: response.headers["Content-Type"]?.hasPrefix("text/event-stream") ?? false)
            }
        } catch {
            broken = true
            return nil
        }
    }

    /// Runs a `.stream` body with chunked framing, one chunk per write (flushed immediately).
    private func writeStream(_ produce: @Sendable (HTTPBodyWriter) throws -> Void, chunked: Bool, gzip: Bool,
                             endsAtShutdown: Bool) throws -> Int {
        final class State: @unchecked Sendable { var sent = 0; var failed = false; var zip: GzipStream? }
        let state = State()
        if gzip { state.zip = try GzipStream() }
        let sendChunk: @Sendable ([UInt8]) throws -> Void = { [self] bytes in
            guard !bytes.isEmpty else { return }
            var out = bytes
            if chunked {
                out = Array((String(bytes.count, radix: 16) + "\r\n").utf8)
                out += bytes
                out += [cr, lf]
            }
            do { try transport.write(out) } catch { state.failed = true; throw error }
            state.sent += bytes.count
        }
        let writer = HTTPBodyWriter { [self] bytes in
            if state.failed { throw HTTPError.connectionClosed }
            if endsAtShutdown && server.isStopping { throw HTTPError.connectionClosed }
            if let zip = state.zip { try sendChunk(try zip.update(bytes, flush: true)) } else { try sendChunk(bytes) }
        }
        do {
            try produce(writer)
        } catch {
            // The body is incomplete: end the connection without the last chunk so the client notices.
            if !(endsAtShutdown && server.isStopping && !state.failed) { throw HTTPError.connectionClosed }
        }
        if let zip = state.zip { try sendChunk(try zip.finish()) }
        if chunked { try transport.write(Array("0\r\n\r\n".utf8)) }
        return state.sent
    }

    private func isCompressible(_ response: HTTPResponse) -> Bool {
        guard let type = response.headers["Content-Type"]?.lowercased() else { return false }
        return type.hasPrefix("application/json") || type.hasPrefix("application/problem+json")
    }

    private func shouldGzip(_ response: HTTPResponse, _ head: HTTPRequestHead) -> Bool {
        guard response.headers["Content-Encoding"] == nil, Self.acceptsGzip(head.headers["Accept-Encoding"]) else { return false }
        switch (response.compression, response.body) {
        case (.none, _), (_, .file): return false
        case (.gzip, _): return true
        case (.automatic, .bytes(let b)):
            guard let min = server.configuration.autoCompressMinBytes else { return false }
            return b.count > min && isCompressible(response)
        case (.automatic, .stream): return false
        }
    }

    static func acceptsGzip(_ value: String?) -> Bool { Gzip.isAccepted(by: value) }

    private func appendingVary(_ existing: String?) -> String {
        guard let existing, !existing.isEmpty else { return "Accept-Encoding" }
        return existing.lowercased().contains("accept-encoding") ? existing : existing + ", Accept-Encoding"
    }
}
