import Foundation

/// SHA-256 of artifact files, remembered by (path, size, mtime) so ETags of large files are
/// computed once.
final class DigestCache: @unchecked Sendable {
    private struct Key: Hashable { var path: String; var size: Int; var mtime: Double }
    private let lock = NSLock()
    private var cache: [Key: [UInt8]] = [:]

    /// The digest of `path` with its size.
    func digest(of path: String) throws -> (digest: [UInt8], size: Int) {
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        let size = (attrs[.size] as? Int) ?? 0
        let mtime = (attrs[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let key = Key(path: path, size: size, mtime: mtime)
        if let d = lock.withLock({ cache[key] }) { return (d, size) }
        let d = try SHA256.digest(ofFile: path)
        lock.withLock { cache[key] = d }
        return (d, size)
    }
}
