import Checkpoint
import Foundation
import Model
import Tensor

/// The durable record of finished shots (method.md §19.3): `checkpoints/shot-N/` holds the prunable
/// weights after shot N (`weights.safetensors`, fp32, so a resumed run continues bit-identically) and
/// `checkpoint.json` (a `PruneReport.Shot`), written last; the directory is renamed into place only
/// when complete. `checkpoints/dense.json` keeps the dense perplexity measured before shot 1.
public enum ShotCheckpoint {
    /// `outputDirectory/checkpoints`.
    public static func directory(_ output: URL) -> URL { output.appendingPathComponent("checkpoints", isDirectory: true) }

    /// `checkpoints/shot-N`.
    public static func shotDirectory(_ output: URL, shot: Int) -> URL {
        directory(output).appendingPathComponent("shot-\(shot)", isDirectory: true)
    }

    /// The finished shots found on disk, in order (those with a readable `checkpoint.json`).
    public static func finishedShots(in output: URL) -> [PruneReport.Shot] {
        let dir = directory(output)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return [] }
        var shots: [PruneReport.Shot] = []
        for name in names where name.hasPrefix("shot-") && !name.hasSuffix(".tmp") {
            let url = dir.appendingPathComponent(name).appendingPathComponent("checkpoint.json")
            guard let data = try? Data(contentsOf: url),
                  let shot = try? JSONDecoder().decode(PruneReport.Shot.self, from: data) else { continue }
            shots.append(shot)
        }
        shots.sort { $0.shot < $1.shot }
        // Only a contiguous prefix 1…k counts; anything after a gap is ignored.
        var prefix: [PruneReport.Shot] = []
        for s in shots where s.shot == prefix.count + 1 { prefix.append(s) }
        return prefix
    }

    /// Writes shot `record.shot` atomically: weights, then the record, then the rename.
    public static func save(model: TransformerModel, record: PruneReport.Shot, output: URL) throws {
        let fm = FileManager.default
        let final = shotDirectory(output, shot: record.shot)
        let tmp = directory(output).appendingPathComponent("shot-\(record.shot).tmp", isDirectory: true)
        try? fm.removeItem(at: tmp)
        try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
        let (full, half) = prunableWeights(model)
        // In the working precision: fp32, or the 16-bit format the weights are held in (exact either way).
        let storage = half.values.first?.kind.storage ?? .F32
        try SafetensorsWriter.write(full, half: half, to: tmp.appendingPathComponent("weights.safetensors").path, as: storage)
        try writeJSON(record, to: tmp.appendingPathComponent("checkpoint.json"))
        try? fm.removeItem(at: final)
        try fm.moveItem(at: tmp, to: final)
        fsyncDirectory(directory(output))
    }

    /// Deletes the weights of an earlier shot (its record stays, for the report); resuming needs only the last.
    public static func dropWeights(_ output: URL, shot: Int) {
        try? FileManager.default.removeItem(at: shotDirectory(output, shot: shot).appendingPathComponent("weights.safetensors"))
    }

    /// Loads the weights saved after `shot` into `model`.
    public static func restore(model: inout TransformerModel, output: URL, shot: Int) throws {
        let path = shotDirectory(output, shot: shot).appendingPathComponent("weights.safetensors").path
        let file = try SafetensorsFile(path: path)
        for id in model.linearIDs {
            let name = model[linear: id].name
            guard let w = file.info(name + ".weight") else {
                throw CheckpointError.missingTensor(path: path, name: name + ".weight")
            }
            let weight = try file.tensor(w)
            guard weight.count == model[linear: id].rows * model[linear: id].cols else {
                throw CheckpointError.invalidConfig(path: path, what: "\(name).weight has shape \(weight.shape), the model wants [\(model[linear: id].rows), \(model[linear: id].cols)]")
            }
            model[linear: id].weight = weight.data
            if model[linear: id].bias != nil, let b = file.info(name + ".bias") {
                model[linear: id].bias = try file.tensor(b).data
            }
        }
    }

    /// The prunable weights (and biases) of `model` under their Hugging Face tensor names: fp32 ones as tensors,
    /// 16-bit ones as they are held (no fp32 copy).
    public static func prunableWeights(_ model: TransformerModel) -> (full: [String: Tensor], half: [String: HalfTensor]) {
        var full: [String: Tensor] = [:], half: [String: HalfTensor] = [:]
        for id in model.linearIDs {
            let l = model[linear: id]
            switch l.storage {
            case .f32(let w): full[l.name + ".weight"] = Tensor(shape: [l.rows, l.cols], data: w)
            case .half(let k, let b): half[l.name + ".weight"] = HalfTensor(shape: [l.rows, l.cols], kind: k, bits: b)
            }
            if let b = l.bias { full[l.name + ".bias"] = Tensor(shape: [l.rows], data: b) }
        }
        return (full, half)
    }

    /// The prunable weights (and biases) of `model` under their Hugging Face tensor names, in fp32.
    public static func prunableTensors(_ model: TransformerModel) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for id in model.linearIDs {
            let l = model[linear: id]
            out[l.name + ".weight"] = Tensor(shape: [l.rows, l.cols], data: l.weight)
            if let b = l.bias { out[l.name + ".bias"] = Tensor(shape: [l.rows], data: b) }
        }
        return out
    }

    /// Writes `value` as pretty JSON through a temporary file, fsync and rename.
    public static func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try enc.encode(value)
        let tmp = url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + ".tmp")
        guard FileManager.default.createFile(atPath: tmp.path, contents: data) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: tmp.path])
        }
        let fd = open(tmp.path, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
        if rename(tmp.path, url.path) != 0 {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
    }

    static func fsyncDirectory(_ url: URL) {
        let fd = open(url.path, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}
