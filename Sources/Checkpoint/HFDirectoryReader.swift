import Foundation
import Tensor

/// Reads a Hugging Face model directory: `config.json`, `model.safetensors` (or the shards listed in
/// `model.safetensors.index.json`), and `tokenizer.json` / `tokenizer_config.json` when present.
/// Tensors keep their Hugging Face names.
public enum HFDirectoryReader {
    /// Loads the directory at `path`.
    public static func load(directory path: String, half: HalfTensor.Kind? = nil) throws -> LoadedCheckpoint {
        let dir = URL(fileURLWithPath: path)
        let configPath = dir.appendingPathComponent("config.json").path
        let configBytes = try readFile(configPath)
        let json = try configBytes.withUnsafeBytes { try JSONValue.parse($0, path: configPath, what: "config.json") }
        let config = try ModelConfig(huggingFace: json, path: configPath)

        var tensors: [String: Tensor] = [:]
        var types: [String: String] = [:]
        var halves: [String: HalfTensor] = [:]
        for file in try shardFiles(dir) {
            let st = try SafetensorsFile(path: file)
            for info in st.tensors {
                // Some OPT checkpoints were saved from the base model: `decoder.*` without `model.`.
                let name = config.architecture == .opt && info.name.hasPrefix("decoder.") ? "model." + info.name : info.name
                guard tensors[name] == nil, halves[name] == nil else {
                    throw CheckpointError.malformed(path: file, what: "tensor \(info.name) appears more than once")
                }
                if let half, CheckpointLoader.isDecoderLinearWeight(name) {
                    let t = try st.tensor(info)
                    halves[name] = HalfTensor(shape: t.shape, kind: half, values: t.data)
                } else {
                    tensors[name] = try st.tensor(info)
                }
                types[name] = info.dtype.rawValue
            }
        }

        var tokenizer: TokenizerData?
        let tokPath = dir.appendingPathComponent("tokenizer.json").path
        if FileManager.default.fileExists(atPath: tokPath) {
            let cfgPath = dir.appendingPathComponent("tokenizer_config.json").path
            let cfg = FileManager.default.fileExists(atPath: cfgPath) ? try readFile(cfgPath) : nil
            tokenizer = .huggingFace(tokenizerJSON: try readFile(tokPath), tokenizerConfigJSON: cfg)
        } else if case let ggufTok = dir.appendingPathComponent("tokenizer.gguf").path, FileManager.default.fileExists(atPath: ggufTok) {
            tokenizer = try GGUFFile(path: ggufTok).tokenizerData().map { .gguf($0) }  // SentencePiece (HFDirectoryWriter)
        }
        var ck = LoadedCheckpoint(config: config, tensors: tensors, tokenizer: tokenizer, source: path, storageTypes: types)
        ck.halfTensors = halves
        return ck
    }

    /// The safetensors files of a directory: the index's shards, or `model.safetensors`.
    static func shardFiles(_ dir: URL) throws -> [String] {
        let indexPath = dir.appendingPathComponent("model.safetensors.index.json").path
        if FileManager.default.fileExists(atPath: indexPath) {
            let bytes = try readFile(indexPath)
            let json = try bytes.withUnsafeBytes { try JSONValue.parse($0, path: indexPath, what: "safetensors index") }
            guard let map = json["weight_map"]?.objectValue else {
                throw CheckpointError.malformed(path: indexPath, what: "weight_map is missing")
            }
            var files: [String] = []
            for v in map.values {
                guard let f = v.stringValue, !f.contains("/"), !f.isEmpty else {
                    throw CheckpointError.malformed(path: indexPath, what: "weight_map entry \(v) is not a file name")
                }
                if !files.contains(f) { files.append(f) }
            }
            return files.sorted().map { dir.appendingPathComponent($0).path }
        }
        let single = dir.appendingPathComponent("model.safetensors").path
        guard FileManager.default.fileExists(atPath: single) else { throw CheckpointError.missingFile(path: single) }
        return [single]
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError.missingFile(path: path) }
        guard let d = FileManager.default.contents(atPath: path) else {
            throw CheckpointError.cannotOpen(path: path, reason: "unreadable")
        }
        return [UInt8](d)
    }
}
