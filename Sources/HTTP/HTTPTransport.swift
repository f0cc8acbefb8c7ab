import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A connected byte stream: plain TCP or TLS over it.
protocol HTTPTransport: AnyObject {
    var fd: Int32 { get }
    /// Bytes already decrypted and waiting (TLS); `poll()` cannot see them.
    var hasBufferedInput: Bool { get }
    /// Completes the TLS handshake; nothing for plain TCP.
    func handshake() throws
    /// Reads up to `buffer.count` bytes; 0 at end of stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Writes all of `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Sends `length` bytes of the open file `file` from `offset`.
    func sendFile(_ file: Int32, offset: Int, length: Int) throws
    /// Closes the connection and releases its descriptor.
    func close()
}

extension HTTPTransport {
    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Sends a file range through `write` in 1 MiB pieces (used where `sendfile` cannot be).
    func copyFile(_ file: Int32, offset: Int, length: Int) throws {
        let piece = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: piece, alignment: 16)
        defer { buffer.deallocate() }
        var done = 0
        while done < length {
            let n = pread(file, buffer.baseAddress, min(piece, length - done), off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw HTTPError.malformed("file shorter than the announced length") }
            try write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            done += n
        }
    }
}

/// Plain TCP.
final class PlainTransport: HTTPTransport {
    let fd: Int32

    init(fd: Int32) { self.fd = fd }

    var hasBufferedInput: Bool { false }
    func handshake() throws {}

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { throw HTTPError.timeout }
            throw HTTPError.connectionClosed
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = send(fd, bytes.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL))
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { throw HTTPError.timeout }
            throw HTTPError.connectionClosed
        }
    }

    func sendFile(_ file: Int32, offset: Int, length: Int) throws {
        var off = off_t(offset)
        var left = length
        while left > 0 {
            let n = Glibc.sendfile(fd, file, &off, min(left, 1 << 30))
            if n > 0 { left -= n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EINVAL || errno == ENOSYS) { return try copyFile(file, offset: Int(off), length: left) }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { throw HTTPError.timeout }
            throw n == 0 ? HTTPError.malformed("file shorter than the announced length") : HTTPError.connectionClosed
        }
    }

    func close() { Glibc.close(fd) }
}
