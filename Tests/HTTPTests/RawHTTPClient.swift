import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import HTTP

/// A minimal blocking HTTP/1.1 client over a raw socket, so tests control every byte.
final class RawHTTPClient {
    struct Response {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    struct Closed: Error {}
    struct TimedOut: Error {}

    let fd: Int32
    private var buffer: [UInt8] = []

    /// `from`: an IPv4 source address to connect from (any 127.x.y.z is a distinct loopback client).
    init(port: Int, host: String = "127.0.0.1", timeout: Double = 10, from: String? = nil) throws {
        let v6 = host.contains(":")
        fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var rc: Int32
        if let from, !v6 {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, from, &local.sin_addr)
            rc = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            if rc != 0 { close(fd); throw Closed() }
        }
        if v6 {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = UInt16(port).bigEndian
            inet_pton(AF_INET6, host, &addr.sin6_addr)
            rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = UInt16(port).bigEndian
            inet_pton(AF_INET, host, &addr.sin_addr)
            rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        if rc != 0 { close(fd); throw Closed() }
    }

    deinit { close(fd) }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Closed() }
            done += n
        }
    }

    /// Reads more bytes into the buffer; throws at EOF or timeout.
    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n != 0 else { throw Closed() }
        guard n > 0 else { throw TimedOut() }
        buffer += chunk[0..<n]
    }

    func readLine() throws -> String {
        while true {
            if let i = buffer.firstIndex(of: 10) {
                let line = String(decoding: buffer[0..<i], as: UTF8.self).trimmingCharacters(in: .init(charactersIn: "\r"))
                buffer.removeFirst(i + 1)
                return line
            }
            try fill()
        }
    }

    func readBytes(_ n: Int) throws -> [UInt8] {
        while buffer.count < n { try fill() }
        defer { buffer.removeFirst(n) }
        return Array(buffer[0..<n])
    }

    /// Reads the status line and headers.
    func readHead() throws -> (status: Int, headers: HTTPHeaders) {
        let statusLine = try readLine()
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { throw Closed() }
        var headers = HTTPHeaders()
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            let kv = line.split(separator: ":", maxSplits: 1)
            headers.add(String(kv[0]), kv.count > 1 ? kv[1].trimmingOWS() : "")
        }
        return (status, headers)
    }

    /// Reads one chunk of a chunked body (`nil` at the last chunk).
    func readChunk() throws -> [UInt8]? {
        let size = Int(try readLine().split(separator: ";")[0], radix: 16) ?? 0
        if size == 0 { _ = try readLine(); return nil }
        let data = try readBytes(size)
        _ = try readLine()
        return data
    }

    /// Reads a whole response; `head` for HEAD requests (no body).
    func readResponse(head: Bool = false) throws -> Response {
        let (status, headers) = try readHead()
        var body: [UInt8] = []
        if head || status == 204 || status == 304 || status < 200 {
        } else if headers["Transfer-Encoding"] == "chunked" {
            while let c = try readChunk() { body += c }
        } else if let cl = headers["Content-Length"].flatMap({ Int($0) }) {
            body = try readBytes(cl)
        }
        return Response(status: status, headers: headers, body: body)
    }

    /// True when the server closed the connection (EOF) before the timeout.
    func isClosedByPeer() -> Bool {
        do { while true { try fill() } } catch { return error is Closed }
    }

    static func get(_ path: String, host: String = "x", extra: String = "") -> String {
        "GET \(path) HTTP/1.1\r\nHost: \(host)\r\n\(extra)\r\n"
    }
}
