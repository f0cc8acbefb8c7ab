import COpenSSL
import Foundation

/// An OpenSSL server context: certificate chain and private key from PEM files, TLS 1.2 or newer.
final class TLSContext: @unchecked Sendable {
    let ctx: OpaquePointer

    init(certificatePath: String, privateKeyPath: String) throws {
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw HTTPServerError.tls("SSL_CTX_new failed: \(Self.lastError())") }
        self.ctx = ctx
        // SSL_CTX_set_min_proto_version is a macro over SSL_CTX_ctrl.
        guard SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil) == 1 else {
            throw HTTPServerError.tls("cannot require TLS 1.2: \(Self.lastError())")
        }
        guard SSL_CTX_use_certificate_chain_file(ctx, certificatePath) == 1 else {
            throw HTTPServerError.tls("cannot load certificate chain \(certificatePath): \(Self.lastError())")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, privateKeyPath, SSL_FILETYPE_PEM) == 1 else {
            throw HTTPServerError.tls("cannot load private key \(privateKeyPath): \(Self.lastError())")
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw HTTPServerError.tls("private key \(privateKeyPath) does not match certificate \(certificatePath)")
        }
    }

    deinit { SSL_CTX_free(ctx) }

    /// The oldest queued OpenSSL error as text (and clears the queue).
    static func lastError() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "unknown error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return cString(buffer)
    }
}

/// TLS over an accepted socket. The socket stays blocking; `poll()` plus `SSL_pending` decide when to
/// read and `SO_RCVTIMEO`/`SO_SNDTIMEO` bound any read or write inside a record.
final class TLSTransport: HTTPTransport {
    let fd: Int32
    private let ssl: OpaquePointer
    private let context: TLSContext

    init(fd: Int32, context: TLSContext) throws {
        guard let ssl = SSL_new(context.ctx) else { throw HTTPServerError.tls("SSL_new failed") }
        self.fd = fd; self.ssl = ssl; self.context = context
        SSL_set_fd(ssl, fd)
    }

    var hasBufferedInput: Bool { SSL_pending(ssl) > 0 }

    func handshake() throws {
        let rc = SSL_accept(ssl)
        guard rc == 1 else {
            ERR_clear_error()
            throw HTTPError.malformed("TLS handshake failed (\(SSL_get_error(ssl, rc)))")
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
        if n > 0 { return Int(n) }
        let error = SSL_get_error(ssl, n)
        ERR_clear_error()
        switch error {
        case SSL_ERROR_ZERO_RETURN: return 0
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: throw HTTPError.timeout
        default: return 0
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = SSL_write(ssl, bytes.baseAddress! + done, Int32(min(bytes.count - done, 1 << 30)))
            if n > 0 { done += Int(n); continue }
            let error = SSL_get_error(ssl, n)
            ERR_clear_error()
            throw error == SSL_ERROR_WANT_WRITE ? HTTPError.timeout : HTTPError.connectionClosed
        }
    }

    func sendFile(_ file: Int32, offset: Int, length: Int) throws { try copyFile(file, offset: offset, length: length) }

    func close() {
        SSL_shutdown(ssl)
        SSL_free(ssl)
        Glibc.close(fd)
    }
}
