import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Errors starting or running the server.
public enum HTTPServerError: Error, Equatable, CustomStringConvertible {
    case alreadyStarted
    case resolve(host: String, reason: String)
    case bind(host: String, port: Int, errno: Int32)
    case listen(errno: Int32)
    case tls(String)

    public var description: String {
        switch self {
        case .alreadyStarted: return "the server is already started"
        case .resolve(let h, let r): return "cannot resolve listen address \(h): \(r)"
        case .bind(let h, let p, let e): return "cannot bind \(h):\(p): \(String(cString: strerror(e)))"
        case .listen(let e): return "listen failed: \(String(cString: strerror(e)))"
        case .tls(let m): return "TLS: \(m)"
        }
    }
}

/// Thin wrappers over BSD socket calls.
enum Socket {
    /// Creates a listening socket on `host:port` (port 0 picks a free port) and returns it with the bound port.
    static func listen(host: String, port: Int, backlog: Int32) throws -> (fd: Int32, port: Int) {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let info = list else { throw HTTPServerError.resolve(host: host, reason: String(cString: gai_strerror(rc))) }
        defer { freeaddrinfo(list) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else { throw HTTPServerError.bind(host: host, port: port, errno: errno) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if info.pointee.ai_family == AF_INET6 {
            // `::` serves IPv4 too (dual stack); a specific IPv6 address only itself.
            var v6only: Int32 = host == "::" ? 0 : 1
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &v6only, socklen_t(MemoryLayout<Int32>.size))
        }
        guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let e = errno; close(fd); throw HTTPServerError.bind(host: host, port: port, errno: e)
        }
        guard Glibc.listen(fd, backlog) == 0 else { let e = errno; close(fd); throw HTTPServerError.listen(errno: e) }
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return (fd, describe(storage).port)
    }

    /// Accepts one connection: its descriptor, client IP and `ip:port`.
    static func accept(_ listener: Int32) -> (fd: Int32, ip: String, address: String)? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(listener, $0, &len) }
        }
        guard fd >= 0 else { return nil }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var (ip, port) = describe(storage)
        if ip.hasPrefix("::ffff:") && ip.contains(".") { ip = String(ip.dropFirst(7)) }  // IPv4-mapped (dual stack)
        let address = ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
        return (fd, ip, address)
    }

    /// The numeric host and port of a socket address.
    static func describe(_ storage: sockaddr_storage) -> (ip: String, port: Int) {
        var s = storage
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        if Int32(s.ss_family) == AF_INET {
            return withUnsafePointer(to: &s) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var addr = sin.pointee.sin_addr
                    inet_ntop(AF_INET, &addr, &buffer, socklen_t(buffer.count))
                    return (cString(buffer), Int(UInt16(bigEndian: sin.pointee.sin_port)))
                }
            }
        }
        return withUnsafePointer(to: &s) {
            $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin in
                var addr = sin.pointee.sin6_addr
                inet_ntop(AF_INET6, &addr, &buffer, socklen_t(buffer.count))
                return (cString(buffer), Int(UInt16(bigEndian: sin.pointee.sin6_port)))
            }
        }
    }

    /// TCP_NODELAY and a send timeout so a client that stops reading cannot pin a thread forever.
    static func configureAccepted(_ fd: Int32, sendTimeout: Double) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var tv = timeval(tv_sec: Int(sendTimeout), tv_usec: Int((sendTimeout - Double(Int(sendTimeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sets the receive timeout (a backstop for blocking reads inside TLS records).
    static func setReceiveTimeout(_ fd: Int32, _ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    enum Readiness { case readable, timeout, woken }

    /// Waits until `fd` is readable (or hung up), `wake` is readable, or `timeout` seconds pass.
    static func wait(_ fd: Int32, wake: Int32?, timeout: Double?) -> Readiness {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        if let wake { fds.append(pollfd(fd: wake, events: Int16(POLLIN), revents: 0)) }
        let ms: Int32 = timeout.map { Int32(max(0, min(Double(Int32.max), ($0 * 1000).rounded(.up)))) } ?? -1
        while true {
            let rc = poll(&fds, nfds_t(fds.count), ms)
            if rc < 0 && errno == EINTR { continue }
            if rc <= 0 { return .timeout }
            if fds[0].revents != 0 { return .readable }
            return .woken
        }
    }
}

/// A NUL-terminated C buffer as a String.
func cString(_ buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
