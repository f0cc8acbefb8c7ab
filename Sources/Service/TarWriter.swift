import Foundation

/// Writes a POSIX ustar archive to `sink`, streaming file contents in 1 MiB pieces.
struct TarWriter {
    private let sink: ([UInt8]) throws -> Void

    init(sink: @escaping ([UInt8]) throws -> Void) { self.sink = sink }

    /// Adds `dir` and everything below it, with member names starting `name/`.
    mutating func appendDirectory(_ dir: URL, as name: String) throws {
        let mtime = ((try? FileManager.default.attributesOfItem(atPath: dir.path))?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        try sink(header(name: name + "/", size: 0, mode: 0o755, type: "5", mtime: Int(mtime)))
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
        for child in names where !child.hasPrefix(".") {
            let url = dir.appendingPathComponent(child)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else { continue }
            if isDir.boolValue { try appendDirectory(url, as: name + "/" + child) } else { try appendFile(url, as: name + "/" + child) }
        }
    }

    /// Adds one regular file.
    mutating func appendFile(_ url: URL, as name: String) throws {
        guard let fh = FileHandle(forReadingAtPath: url.path) else { return }
        defer { try? fh.close() }
        let attrs = try FileManager.default.attributesOfItem(atPath: url.path)
        let size = (attrs[.size] as? Int) ?? 0
        let mtime = Int((attrs[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)
        try sink(header(name: name, size: size, mode: 0o644, type: "0", mtime: mtime))
        var written = 0
        while written < size, let chunk = try fh.read(upToCount: min(1 << 20, size - written)), !chunk.isEmpty {
            try sink(Array(chunk))
            written += chunk.count
        }
        // A file that shrank while archiving is padded with zeros to its declared size.
        if written < size { try sink([UInt8](repeating: 0, count: size - written)) }
        let pad = (512 - size % 512) % 512
        if pad > 0 { try sink([UInt8](repeating: 0, count: pad)) }
    }

    /// Two zero blocks end the archive.
    func finish() throws { try sink([UInt8](repeating: 0, count: 1024)) }

    func header(name: String, size: Int, mode: Int, type: Character, mtime: Int) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ s: String, _ offset: Int, _ len: Int) {
            for (i, b) in s.utf8.prefix(len).enumerated() { h[offset + i] = b }
        }
        func octal(_ v: Int, _ offset: Int, _ len: Int) {
            let s = String(v, radix: 8)
            put(String(repeating: "0", count: max(0, len - 1 - s.count)) + s, offset, len - 1)
        }
        var n = name, prefix = ""
        if n.utf8.count > 100, let cut = n.lastIndex(of: "/"), n[..<cut].utf8.count <= 155 {
            prefix = String(n[..<cut]); n = String(n[n.index(after: cut)...])
        }
        put(n, 0, 100)
        octal(mode, 100, 8); octal(0, 108, 8); octal(0, 116, 8)
        octal(size, 124, 12); octal(mtime, 136, 12)
        for i in 148..<156 { h[i] = 0x20 }
        h[156] = type.asciiValue ?? 0x30
        put("ustar", 257, 6); put("00", 263, 2)
        put("surgeon", 265, 32); put("surgeon", 297, 32)
        put(prefix, 345, 155)
        let sum = h.reduce(0) { $0 + Int($1) }
        let s = String(sum, radix: 8)
        put(String(repeating: "0", count: max(0, 6 - s.count)) + s, 148, 6)
        h[154] = 0; h[155] = 0x20
        return h
    }
}
