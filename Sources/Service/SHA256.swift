import COpenSSL
import Foundation

/// Incremental SHA-256 through OpenSSL's EVP interface, fed while a body streams.
public final class SHA256: @unchecked Sendable {
    private var ctx: OpaquePointer?

    public init() {
        ctx = EVP_MD_CTX_new()
        EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
    }

    deinit { EVP_MD_CTX_free(ctx) }

    /// Feeds bytes.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        if let base = bytes.baseAddress, bytes.count > 0 { EVP_DigestUpdate(ctx, base, bytes.count) }
    }

    /// Feeds bytes.
    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The 32-byte digest; the hasher is spent afterwards.
    public func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        EVP_DigestFinal_ex(ctx, &out, &len)
        return out
    }

    /// Lower-case hex of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Hex digest of `bytes`.
    public static func hex(of bytes: [UInt8]) -> String {
        let h = SHA256(); h.update(bytes); return hex(h.finish())
    }

    /// Digest of a file, read in 1 MiB pieces.
    public static func digest(ofFile path: String) throws -> [UInt8] {
        guard let fh = FileHandle(forReadingAtPath: path) else { throw BlobError.notFound(path) }
        defer { try? fh.close() }
        let h = SHA256()
        while let chunk = try fh.read(upToCount: 1 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { h.update($0) }
        }
        return h.finish()
    }
}
