import Foundation
import XCTest

/// A size-capped tmpfs mounted for one test (we run as root); `XCTSkip` with the reason when it cannot be.
final class TmpfsMount: @unchecked Sendable {
    let url: URL

    init(size: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-tmpfs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let (status, output) = Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", url.path])
        guard status == 0 else {
            try? FileManager.default.removeItem(at: url)
            let reason = "cannot mount a tmpfs (\(output.trimmingCharacters(in: .whitespacesAndNewlines))); the full-disk case is not tested"
            print("SKIP: \(reason)")
            throw XCTSkip(reason)
        }
    }

    deinit {
        _ = Self.run("/bin/umount", ["-l", url.path])
        try? FileManager.default.removeItem(at: url)
    }

    /// Bytes still free for files.
    var freeBytes: Int {
        var st = statvfs()
        guard statvfs(url.path, &st) == 0 else { return 0 }
        return Int(st.f_bavail) * Int(st.f_frsize)
    }

    /// Writes `bytes` (all free space when `nil`) into a filler file and returns its URL.
    @discardableResult
    func fill(leaving left: Int = 0, name: String = "filler") -> URL {
        let filler = url.appendingPathComponent(name)
        let want = max(0, freeBytes - left)
        FileManager.default.createFile(atPath: filler.path, contents: nil)
        guard let fh = FileHandle(forWritingAtPath: filler.path) else { return filler }
        var written = 0
        let chunk = Data(repeating: 0xAB, count: 64 << 10)
        while written < want {
            let n = min(chunk.count, want - written)
            do { try fh.write(contentsOf: chunk.prefix(n)) } catch { break }
            written += n
        }
        try? fh.synchronize()
        try? fh.close()
        return filler
    }

    static func run(_ tool: String, _ args: [String]) -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe; p.standardError = pipe
        do { try p.run() } catch { return (-1, "\(error)") }
        p.waitUntilExit()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (p.terminationStatus, out)
    }
}
