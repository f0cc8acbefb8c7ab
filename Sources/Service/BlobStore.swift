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
    /// A path `register` refuses: missing, unreadable, not a regular file or outside the allowed roots, all
    /// alike (the client cannot tell which, so the refusal reveals nothing about the server's files).
    case pathRefused
    case nameTaken(String)
    case clientGone
}

/// Uploaded and registered files of one kind (`models` or `texts`), one directory per owner:
///
/// ```
/// <root>/<owner>/.meta/<name>.json         the description of `name`: the one commit point of a publish
///               /.data/<8 hex>.<name>       the bytes of one uploaded version (older stores: <root>/<owner>/<name>)
/// ```
///
/// Uploads stream to `<tmp>/upload-*`, are hashed and described while streaming and after, fsynced, and then,
/// under the store's lock, renamed to a fresh version file and published by writing the description over the old
/// one (temp + fsync + rename). Any failure before that last rename leaves the old version as it was; after it,
/// the old version's file is removed (jobs keep their own hard links, `pin`). Opening the store sweeps what
/// crashes left: partial uploads, temporary descriptions and version files no description names.
public final class BlobStore: @unchecked Sendable {
    public let root: URL
    public let tmp: URL
    private let lock = NSLock()
    /// Test hook: writes after this many bytes fail with ENOSPC (labelled hack for the 507 path).
    var failWritesAfterBytes: Int?
    /// What the start-up sweep removed, one line each (also logged).
    public private(set) var swept: [String] = []

    /// Reads facts about a file about to be published (a model's header); called outside the lock.
    public typealias Describe = (_ path: String) -> (model: ModelSummary?, error: String?)

    public init(root: URL, tmp: URL) throws {
        self.root = root; self.tmp = tmp
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        swept = sweep()
        for line in swept { FileHandle.standardError.write(Data("surgeon store: start-up sweep: \(line)\n".utf8)) }
    }

    private func metaURL(_ owner: String, _ name: String) -> URL {
        root.appendingPathComponent(owner).appendingPathComponent(".meta").appendingPathComponent(name + ".json")
    }

    private func dataDirectory(_ owner: String) -> URL { root.appendingPathComponent(owner).appendingPathComponent(".data") }

    public func get(owner: String, name: String) -> BlobInfo? {
        guard let data = FileManager.default.contents(atPath: metaURL(owner, name).path) else { return nil }
        return try? JobCoding.decoder().decode(BlobInfo.self, from: data)
    }

    public func list(owner: String) -> [BlobInfo] {
        let dir = root.appendingPathComponent(owner).appendingPathComponent(".meta")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted()
            .compactMap { get(owner: owner, name: String($0.dropLast(5))) }
    }

    public func delete(owner: String, name: String) throws {
        try lock.withLock {
            guard let info = get(owner: owner, name: name) else { throw BlobError.notFound(name) }
            do { try FileManager.default.removeItem(at: metaURL(owner, name)) } catch {
                throw BlobError.io("remove \(metaURL(owner, name).path): \(error.localizedDescription)")
            }
            if info.source == "upload" { try? FileManager.default.removeItem(atPath: info.path) }
        }
    }

    private func saveMeta(_ info: BlobInfo) throws {
        let url = metaURL(info.owner, info.name)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try AtomicFile.write(try JobCoding.encoder(pretty: true).encode(info), to: url)
        } catch let e as JobStoreError {
            if case .diskFull(let path, let message) = e { throw BlobError.diskFull("\(path): \(message)") }
            throw BlobError.io(e.description)
        } catch {
            throw BlobError.io("\(url.path): \(error.localizedDescription)")
        }
    }

    /// Streams `body` into a new version of `<owner>/<name>`: a temp file hashed while written, refused past
    /// `limit` bytes, fsynced, described (`describe`), then published with its description under the lock.
    /// On any failure the temp and version files are removed and the stored version (bytes and description)
    /// is untouched. Returns the info and whether the name was new.
    public func upload(owner: String, name: String, body: HTTPBodyReader, limit: Int, now: Date,
                       describe: Describe = { _ in (nil, nil) }) throws -> (BlobInfo, created: Bool) {
        let tmpPath = tmp.appendingPathComponent("upload-\(UUID().uuidString)").path
        let fd = open(tmpPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Self.errnoError(tmpPath, "open") }
        defer { unlink(tmpPath) }  // a no-op once renamed
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
        let version = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let dataDir = dataDirectory(owner)
        let final = dataDir.appendingPathComponent(String(repeating: "0", count: 8 - version.count) + version + "." + name)
        var info = BlobInfo(name: name, owner: owner, size: total, sha256: SHA256.hex(hasher.finish()),
                            source: "upload", path: final.path, createdAt: now)
        (info.model, info.inspectionError) = describe(tmpPath)
        info.inspectionError = info.inspectionError?.replacingOccurrences(of: tmpPath, with: name)
        return try lock.withLock {
            do { try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true) } catch {
                throw BlobError.io("mkdir \(dataDir.path): \(error.localizedDescription)")
            }
            let existed = get(owner: owner, name: name)
            guard rename(tmpPath, final.path) == 0 else { throw Self.errnoError(final.path, "rename") }
            do { try saveMeta(info) } catch {
                unlink(final.path)
                throw error
            }
            AtomicFile.syncDirectory(dataDir.path)
            if let old = existed, old.source == "upload", old.path != final.path, isInside(old.path) {
                unlink(old.path)
            }
            return (info, existed == nil)
        }
    }

    /// Registers the server-local file `path` under `name` without copying it. Its real path
    /// (symlinks resolved) must be a readable regular file inside one of `roots` (also resolved); any other
    /// path is refused with the one `pathRefused`, whether it exists or not (no oracle for the server's files).
    public func register(owner: String, name: String, path: String, roots: [String], now: Date,
                         describe: Describe = { _ in (nil, nil) }) throws -> BlobInfo {
        let resolvedRoots = roots.compactMap(Self.realPath)
        guard let real = Self.realPath(path),
              resolvedRoots.contains(where: { real == $0 || real.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }) else {
            throw BlobError.pathRefused
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: real, isDirectory: &isDir), !isDir.boolValue,
              FileManager.default.isReadableFile(atPath: real),
              let attrs = try? FileManager.default.attributesOfItem(atPath: real),
              let digest = try? SHA256.digest(ofFile: real) else { throw BlobError.pathRefused }
        var info = BlobInfo(name: name, owner: owner, size: (attrs[.size] as? Int) ?? 0, sha256: SHA256.hex(digest),
                            source: "path", path: real, createdAt: now)
        (info.model, info.inspectionError) = describe(real)
        info.inspectionError = info.inspectionError?.replacingOccurrences(of: real, with: name).replacingOccurrences(of: path, with: name)
        return try lock.withLock {
            if get(owner: owner, name: name) != nil { throw BlobError.nameTaken(name) }
            try saveMeta(info)
            return info
        }
    }

    /// Pins the current version of `name` for a job as `role`: under the lock, so the bytes and the digest
    /// recorded belong together. An upload is hard-linked (copied where a link is impossible) into
    /// `<directory>/<role>/<name>`, which a later re-upload or delete cannot change; a registered file is
    /// pinned by its identity (device, inode, size, modification time), checked before every attempt. `nil` when there is no such name.
    public func pin(owner: String, name: String, role: String, into directory: URL) throws -> PinnedInput? {
        try lock.withLock {
            guard let info = get(owner: owner, name: name) else { return nil }
            guard info.source == "upload" else {
                return PinnedInput(role: role, name: name, sha256: info.sha256, size: info.size, path: info.path, linked: false,
                                   identity: PinnedInput.identity(ofFile: info.path))
            }
            let dir = directory.appendingPathComponent(role, isDirectory: true)
            let dest = dir.appendingPathComponent(name)
            do {
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                if link(info.path, dest.path) != 0 {
                    guard errno == EXDEV || errno == EPERM || errno == EMLINK else { throw Self.errnoError(dest.path, "link") }
                    try FileManager.default.copyItem(atPath: info.path, toPath: dest.path)
                }
            } catch let e as BlobError { throw e } catch {
                throw BlobError.io("pin \(info.path) at \(dest.path): \(error.localizedDescription)")
            }
            return PinnedInput(role: role, name: name, sha256: info.sha256, size: info.size, path: dest.path, linked: true)
        }
    }

    /// Removes what crashes left (nothing else runs yet): partial uploads in `tmp`, temporary descriptions, and
    /// version files (or files of the older layout) that no description names. Never a file a description names.
    private func sweep() -> [String] {
        let fm = FileManager.default
        var done: [String] = []
        func remove(_ path: String, _ why: String) {
            if (try? fm.removeItem(atPath: path)) != nil { done.append("removed \(path) (\(why))") }
        }
        for name in ((try? fm.contentsOfDirectory(atPath: tmp.path)) ?? []).sorted() where name.hasPrefix("upload-") {
            remove(tmp.appendingPathComponent(name).path, "a partial upload")
        }
        for owner in ((try? fm.contentsOfDirectory(atPath: root.path)) ?? []).sorted() {
            let ownerDir = root.appendingPathComponent(owner)
            let metaDir = ownerDir.appendingPathComponent(".meta")
            for name in (try? fm.contentsOfDirectory(atPath: metaDir.path)) ?? [] where name.hasPrefix(".tmp-") {
                remove(metaDir.appendingPathComponent(name).path, "a description write cut short")
            }
            let named = Set(list(owner: owner).filter { $0.source == "upload" }.map(\.path))
            let dataDir = dataDirectory(owner)
            for name in ((try? fm.contentsOfDirectory(atPath: dataDir.path)) ?? []).sorted() {
                let path = dataDir.appendingPathComponent(name).path
                if !named.contains(path) { remove(path, "an upload no description names") }
            }
            for name in ((try? fm.contentsOfDirectory(atPath: ownerDir.path)) ?? []).sorted() where !name.hasPrefix(".") {
                let path = ownerDir.appendingPathComponent(name).path
                var isDir: ObjCBool = false
                if fm.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue, !named.contains(path) {
                    remove(path, "an upload no description names")
                }
            }
        }
        return done
    }

    /// `true` for a path under `root` (a file this store owns).
    private func isInside(_ path: String) -> Bool { path.hasPrefix(root.path.hasSuffix("/") ? root.path : root.path + "/") }

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
