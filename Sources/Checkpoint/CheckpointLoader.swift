import Foundation

/// The one entry point for reading a model: a `.gguf` file or a Hugging Face directory.
public enum CheckpointLoader {
    /// Loads `path`: a directory is read as Hugging Face (config.json + safetensors), a file starting
    /// with the GGUF magic as GGUF. With `requireTokenizer`, a checkpoint without one is an error.
    /// With `half`, the decoder Linears' weights (`isDecoderLinearWeight`) are kept in that 16-bit format
    /// (`LoadedCheckpoint.halfTensors`), converted one tensor at a time: a model whose fp32 weights do not fit.
    public static func load(path: String, requireTokenizer: Bool = false, half: HalfTensor.Kind? = nil) throws -> LoadedCheckpoint {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw CheckpointError.cannotOpen(path: path, reason: "no such file or directory")
        }
        let ck: LoadedCheckpoint
        if isDir.boolValue, let gguf = loneGGUF(inDirectory: path) {
            ck = try GGUFFile(path: gguf).load(half: half)
        } else if isDir.boolValue {
            ck = try HFDirectoryReader.load(directory: path, half: half)
        } else {
            let file = try MappedFile(path: path)
            if file.bytes.count >= 4, file.bytes.loadUnaligned(as: UInt32.self) == GGUFFile.magic {
                ck = try GGUFFile(file: file).load(half: half)
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

    /// Whether `name` is the weight of a decoder block's prunable Linear (Llama's `*_proj`, OPT's `fc1`/`fc2`).
    public static func isDecoderLinearWeight(_ name: String) -> Bool {
        guard name.contains(".layers."), name.hasSuffix(".weight") else { return false }
        return name.hasSuffix("_proj.weight") || name.hasSuffix(".fc1.weight") || name.hasSuffix(".fc2.weight")
    }

    /// What a memory plan needs before a prune starts, read from headers only (no tensor is loaded).
    public struct Header: Sendable {
        public var config: ModelConfig
        /// Bytes of the weight files.
        public var fileBytes: Int
        /// Storage types of the decoder Linears' weights (`F16`, `Q4_1`, `BF16`, …).
        public var linearTypes: Set<String>
        /// Every decoder Linear weight is F16 (16-bit storage can keep them exactly in f16).
        public var linearsAreF16: Bool { linearTypes == ["F16"] }
    }

    /// The header of `path`: config, weight-file bytes and the decoder Linears' storage types.
    public static func header(path: String) throws -> Header {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw CheckpointError.cannotOpen(path: path, reason: "no such file or directory")
        }
        func size(_ p: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: p))?[.size] as? NSNumber)?.intValue ?? 0 }
        func gguf(_ g: GGUFFile) throws -> Header {
            let types = Set(g.tensors.filter { isDecoderLinearWeight(GGUFNames.huggingFaceName($0.name) ?? $0.name) }.map(\.type.name))
            return Header(config: try g.modelConfig(), fileBytes: g.file.bytes.count, linearTypes: types)
        }
        if isDir.boolValue, let path = loneGGUF(inDirectory: path) { return try gguf(GGUFFile(path: path)) }
        if isDir.boolValue {
            let configPath = (path as NSString).appendingPathComponent("config.json")
            let bytes = try HFDirectoryReader.readFile(configPath)
            let json = try bytes.withUnsafeBytes { try JSONValue.parse($0, path: configPath, what: "config.json") }
            let shards = try HFDirectoryReader.shardFiles(URL(fileURLWithPath: path))
            var types = Set<String>()
            for shard in shards {
                for info in try SafetensorsFile(path: shard).tensors where isDecoderLinearWeight(info.name) { types.insert(info.dtype.rawValue) }
            }
            return Header(config: try ModelConfig(huggingFace: json, path: configPath), fileBytes: shards.reduce(0) { $0 + size($1) },
                          linearTypes: types)
        }
        let file = try MappedFile(path: path)
        guard file.bytes.count >= 4, file.bytes.loadUnaligned(as: UInt32.self) == GGUFFile.magic else {
            let found = file.bytes.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw CheckpointError.badMagic(path: path, expected: "GGUF", found: found)
        }
        return try gguf(GGUFFile(file: file))
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
