import Foundation

/// The one entry point for reading a model: a `.gguf` file or a Hugging Face directory.
public enum CheckpointLoader {
    /// Loads `path`: a directory is read as Hugging Face (config.json + safetensors), a file starting
    /// with the GGUF magic as GGUF. With `requireTokenizer`, a checkpoint without one is an error.
    public static func load(path: String, requireTokenizer: Bool = false) throws -> LoadedCheckpoint {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw CheckpointError.cannotOpen(path: path, reason: "no such file or directory")
        }
        let ck: LoadedCheckpoint
        if isDir.boolValue, let gguf = loneGGUF(inDirectory: path) {
            ck = try GGUFFile(path: gguf).load()
        } else if isDir.boolValue {
            ck = try HFDirectoryReader.load(directory: path)
        } else {
            let file = try MappedFile(path: path)
            if file.bytes.count >= 4, file.bytes.loadUnaligned(as: UInt32.self) == GGUFFile.magic {
                ck = try GGUFFile(file: file).load()
            } else if path.hasSuffix(".safetensors") {
                throw CheckpointError.invalidConfig(path: path,
                    what: "a bare .safetensors file has no config; pass its directory (with config.json)")
            } else {
                let found = file.bytes.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")
                throw CheckpointError.badMagic(path: path, expected: "GGUF", found: found)
            }
        }
        if requireTokenizer, ck.tokenizer == nil { throw CheckpointError.missingTokenizer(path: path) }
        return ck
    }

    /// The config of `path` and the bytes of its weight files, read from headers only (no tensor is loaded):
    /// what a memory plan needs before a prune starts.
    public static func header(path: String) throws -> (config: ModelConfig, fileBytes: Int) {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw CheckpointError.cannotOpen(path: path, reason: "no such file or directory")
        }
        func size(_ p: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: p))?[.size] as? NSNumber)?.intValue ?? 0 }
        if isDir.boolValue, let gguf = loneGGUF(inDirectory: path) { return (try GGUFFile(path: gguf).modelConfig(), size(gguf)) }
        if isDir.boolValue {
            let configPath = (path as NSString).appendingPathComponent("config.json")
            let bytes = try HFDirectoryReader.readFile(configPath)
            let json = try bytes.withUnsafeBytes { try JSONValue.parse($0, path: configPath, what: "config.json") }
            let shards = try HFDirectoryReader.shardFiles(URL(fileURLWithPath: path))
            return (try ModelConfig(huggingFace: json, path: configPath), shards.reduce(0) { $0 + size($1) })
        }
        let file = try MappedFile(path: path)
        guard file.bytes.count >= 4, file.bytes.loadUnaligned(as: UInt32.self) == GGUFFile.magic else {
            let found = file.bytes.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw CheckpointError.badMagic(path: path, expected: "GGUF", found: found)
        }
        return (try GGUFFile(file: file).modelConfig(), file.bytes.count)
    }

    /// The only `.gguf` file of a directory without `config.json`, if there is exactly one.
    static func loneGGUF(inDirectory path: String) -> String? {
        let fm = FileManager.default
        guard !fm.fileExists(atPath: (path as NSString).appendingPathComponent("config.json")),
              let names = try? fm.contentsOfDirectory(atPath: path) else { return nil }
        let ggufs = names.filter { $0.hasSuffix(".gguf") }
        return ggufs.count == 1 ? (path as NSString).appendingPathComponent(ggufs[0]) : nil
    }
}
