import Foundation
import HTTP
import Jobs
#if canImport(Glibc)
import Glibc
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemWrite = Darwin.write
#endif

/// A stored model or text file and what is known about it.
public struct BlobInfo: Codable, Sendable, Equatable {
    public var name: String
    public var owner: String
    public var size: Int
    public var sha256: String
    /// `upload` (stored in the data dir) or `path` (a registered server-local file, not copied).
    public var source: String
    /// The file on the server; never sent to clients.
    public var path: String
    public var createdAt: Date
    /// Header facts of a model file (GGUF), when readable.
    public var model: ModelSummary?
    /// Why the header could not be read, when it could not.
    public var inspectionError: String?

    enum CodingKeys: String, CodingKey {
        case name, owner, size, sha256, source, path, model
        case createdAt = "created_at", inspectionError = "inspection_error"
    }
}

/// Failures of the model/text store.
public enum BlobError: Error, Equatable, Sendable {
    case notFound(String)
    case tooLarge(limit: Int)
    case diskFull(String)
    case io(String)
    case outsideRoots(String)
    case notAFile(String)
    case nameTaken(String)
    case clientGone
}

/// Uploaded and registered files of one kind (`models` or `texts`), one directory per owner:
/// `<root>/<owner>/<name>` holds uploads and `<root>/<owner>/.meta/<name>.json` describes each.
/// Uploads stream to `<tmp>/`, are hashed while streaming, fsynced and renamed into place.
public final class BlobStore: @unchecked Sendable {
    public let root: URL
    public let tmp: URL
    private let lock = NSLock()
    /// Test hook: writes after this many bytes fail with ENOSPC (labelled hack for the 507 path).
    var failWritesAfterBytes: Int?

    public init(root: URL, tmp: URL) throws {
        self.root = root; self.tmp = tmp
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    private func metaURL(_ owner: String, _ name: String) -> URL {
        root.appendingPathComponent(owner).appendingPathComponent(".meta").appendingPathComponent(name + ".json")
    }

    public func get(owner: String, name: String) -> BlobInfo? {
        guard let data = FileManager.default.contents(atPath: metaURL(owner, name).path) else { return nil }
        return try? JobCoding.decoder().decode(BlobInfo.self, from: data)
    }

    public func list(owner: String) -> [BlobInfo] {
        let dir = root.appendingPathComponent(owner).appendingPathComponent(".meta")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted().compactMap { get(owner: owner, name: String($0.dropLast(5))) }
    }

    public func delete(owner: String, name: String) throws {
        try lock.withLock {
            guard let info = get(owner: owner, name: name) else { throw BlobError.notFound(name) }
            try? FileManager.default.removeItem(at: metaURL(owner, name))
            if info.source == "upload" { try? FileManager.default.removeItem(atPath: info.path) }
        }
    }

    /// Replaces the stored description of an existing file (e.g. after inspecting its header).
    public func update(_ info: BlobInfo) throws {
        try lock.withLock { try saveMeta(info) }
    }

    private func saveMeta(_ info: BlobInfo) throws {
        let url = metaURL(info.owner, info.name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try AtomicFile.write(try JobCoding.encoder(pretty: true).encode(info), to: url)
    }

    /// Streams `body` into `<root>/<owner>/<name>`: a temp file hashed while written, refused past
    /// `limit` bytes, fsynced and renamed over any previous file. On any failure the temp file is
    /// removed and the stored file is untouched. Returns the info and whether the name was new.
    public func upload(owner: String, name: String, body: HTTPBodyReader, limit: Int, now: Date) throws -> (BlobInfo, created: Bool) {
        let tmpPath = tmp.appendingPathComponent("upload-\(UUID().uuidString)").path
        let fd = open(tmpPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Self.errnoError(tmpPath, "open") }
        var keep = false
        defer { if !keep { unlink(tmpPath) } }
        let hasher = SHA256()
        var total = 0
        do {
            defer { close(fd) }
            while true {
                let chunk: [UInt8]?
                do { chunk = try body.read(maxBytes: 1 << 20) } catch HTTPError.bodyTooLarge(let l) { throw BlobError.tooLarge(limit: min(l, limit)) } catch {
                    throw BlobError.clientGone
                }
                guard let chunk else { break }
                total += chunk.count
                if total > limit { throw BlobError.tooLarge(limit: limit) }
                hasher.update(chunk)
                try writeAll(fd, chunk, path: tmpPath, offsetBefore: total - chunk.count)
            }
            guard fsync(fd) == 0 else { throw Self.errnoError(tmpPath, "fsync") }
        }
        let final = root.appendingPathComponent(owner).appendingPathComponent(name)
        return try lock.withLock {
            try FileManager.default.createDirectory(at: final.deletingLastPathComponent(), withIntermediateDirectories: true)
            let existed = get(owner: owner, name: name)
            guard rename(tmpPath, final.path) == 0 else { throw Self.errnoError(final.path, "rename") }
            keep = true
            AtomicFile.syncDirectory(final.deletingLastPathComponent().path)
            let info = BlobInfo(name: name, owner: owner, size: total, sha256: SHA256.hex(hasher.finish()),
                                source: "upload", path: final.path, createdAt: now)
            try saveMeta(info)
            return (info, existed == nil)
        }
    }

    /// Registers the server-local file `path` under `name` without copying it. Its real path
    /// (symlinks resolved) must lie inside one of `roots` (also resolved).
    public func register(owner: String, name: String, path: String, roots: [String], now: Date) throws -> BlobInfo {
        guard let real = Self.realPath(path) else { throw BlobError.notFound(path) }
        let inside = roots.compactMap(Self.realPath).contains { root in
            real == root || real.hasPrefix(root.hasSuffix("/") ? root : root + "/")
        }
        guard inside else { throw BlobError.outsideRoots(path) }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: real, isDirectory: &isDir), !isDir.boolValue else { throw BlobError.notAFile(path) }
        let attrs = try FileManager.default.attributesOfItem(atPath: real)
        let digest = try SHA256.digest(ofFile: real)
        return try lock.withLock {
            if get(owner: owner, name: name) != nil { throw BlobError.nameTaken(name) }
            let info = BlobInfo(name: name, owner: owner, size: (attrs[.size] as? Int) ?? 0, sha256: SHA256.hex(digest),
                                source: "path", path: real, createdAt: now)
            try saveMeta(info)
            return info
        }
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String, offsetBefore: Int) throws {
        if let limit = failWritesAfterBytes, offsetBefore + bytes.count > limit { throw BlobError.diskFull(path) }
        try bytes.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = systemWrite(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw Self.errnoError(path, "write")
                }
                off += n
            }
        }
    }

    static func errnoError(_ path: String, _ call: String) -> BlobError {
        if errno == ENOSPC || errno == EDQUOT { return .diskFull("\(call) \(path): \(String(cString: strerror(errno)))") }
        return .io("\(call) \(path): \(String(cString: strerror(errno)))")
    }
}
