import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(Glibc)
private let systemWrite = Glibc.write
#else
private let systemWrite = Darwin.write
#endif

/// Durable file writes: write a temporary sibling, fsync it, rename it over the target, fsync the
/// directory. A crash leaves either the old or the new file, never a torn one.
public enum AtomicFile {
    /// Replaces `url` with `data` atomically and durably.
    public static func write(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent().path
        let tmp = dir + "/.tmp-" + url.lastPathComponent + "-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure(tmp, "open") }
        var ok = false
        defer { if !ok { unlink(tmp) } }
        do {
            defer { close(fd) }
            try writeAll(fd, data, path: tmp)
            guard fsync(fd) == 0 else { throw failure(tmp, "fsync") }
        }
        guard rename(tmp, url.path) == 0 else { throw failure(url.path, "rename") }
        ok = true
        syncDirectory(dir)
    }

    /// Appends `data` to `url` (created if missing), fsyncing when `sync` is set. A write that fails
    /// part-way (a full disk) is cut off again, so the file never keeps half a record.
    public static func append(_ data: Data, to url: URL, sync: Bool) throws {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure(url.path, "open") }
        defer { close(fd) }
        let before = lseek(fd, 0, SEEK_END)
        do {
            try writeAll(fd, data, path: url.path)
            if sync, fsync(fd) != 0 { throw failure(url.path, "fsync") }
        } catch {
            if before >= 0 { _ = ftruncate(fd, before) }
            throw error
        }
    }

    /// fsyncs a directory so a rename or create in it survives a crash.
    public static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }

    static func writeAll(_ fd: Int32, _ data: Data, path: String) throws {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < raw.count {
                let n = systemWrite(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw failure(path, "write")
                }
                offset += n
            }
        }
    }

    static func errnoText(_ call: String) -> String { "\(call) failed: \(String(cString: strerror(errno)))" }

    /// The store error for the failed call, read from `errno`: `.diskFull` for ENOSPC and EDQUOT.
    static func failure(_ path: String, _ call: String) -> JobStoreError {
        let full = errno == ENOSPC || errno == EDQUOT
        let message = errnoText(call)
        return full ? .diskFull(path: path, message: message) : .io(path: path, message: message)
    }
}
