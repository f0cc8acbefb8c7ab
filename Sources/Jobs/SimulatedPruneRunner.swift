import Foundation
import Pruning

/// A stand-in `PruneRunner` for tests and demos (`surgeon serve --runner simulated`): walks
/// `layers` layers per shot reporting progress, checks `isCancelled` before every layer, writes a
/// checkpoint per finished shot (`checkpoints/shot-<n>/checkpoint.json` + `model.bin`), resumes
/// after the last checkpoint it finds, and ends with `model.safetensors` and `report.json`.
public struct SimulatedPruneRunner: PruneRunner {
    /// Layers walked per shot.
    public var layers: Int
    /// Seconds slept per layer (0 in tests).
    public var secondsPerLayer: Double
    /// Bytes of the fake output model.
    public var modelBytes: Int
    /// Throws `SimulatedFailure` when reaching this shot.
    public var failAtShot: Int?
    /// Called before each layer (tests block here to hold a job in `running`).
    public var onLayer: (@Sendable (_ shot: Int, _ layer: Int) -> Void)?

    public init(layers: Int = 4, secondsPerLayer: Double = 0, modelBytes: Int = 64 << 10, failAtShot: Int? = nil,
                onLayer: (@Sendable (Int, Int) -> Void)? = nil) {
        self.layers = max(1, layers); self.secondsPerLayer = secondsPerLayer; self.modelBytes = modelBytes
        self.failAtShot = failAtShot; self.onLayer = onLayer
    }

    /// The simulated runner's deliberate failure.
    public struct SimulatedFailure: Error, CustomStringConvertible {
        public var shot: Int
        public var description: String { "simulated failure in shot \(shot)" }
    }

    /// The last shot with a checkpoint in `outputDirectory` (0 if none).
    public static func lastFinishedShot(in outputDirectory: URL) -> Int {
        let dir = outputDirectory.appendingPathComponent("checkpoints")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.compactMap { name -> Int? in
            guard name.hasPrefix("shot-"), let n = Int(name.dropFirst(5)),
                  FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).appendingPathComponent("checkpoint.json").path)
            else { return nil }
            return n
        }.max() ?? 0
    }

    public func run(_ request: PruneRequest, outputDirectory: URL, progress: @escaping @Sendable (PruneProgress) -> Void,
                    isCancelled: @escaping @Sendable () -> Bool) throws -> PruneReport {
        let shots = max(1, request.shots)
        let resumeAfter = Self.lastFinishedShot(in: outputDirectory)
        var shotReports: [PruneReport.Shot] = (0..<resumeAfter).map { i in
            PruneReport.Shot(shot: i + 1, targetSparsity: target(request, i + 1, shots), achievedSparsity: target(request, i + 1, shots),
                             perplexity: perplexity(request, i + 1, shots), seconds: [:])
        }
        if resumeAfter < shots {
            for shot in (resumeAfter + 1)...shots {
                if shot == failAtShot { throw SimulatedFailure(shot: shot) }
                for layer in 1...layers {
                    if isCancelled() { throw PruneCancelled() }
                    onLayer?(shot, layer)
                    let done = Double(shot - 1) + Double(layer - 1) / Double(layers)
                    progress(PruneProgress(phase: "update", shot: shot, shots: shots, layer: layer, layers: layers,
                                           fraction: done / Double(shots),
                                           etaSeconds: (Double(shots) - done) * Double(layers) * secondsPerLayer,
                                           message: "shot \(shot)/\(shots) layer \(layer)/\(layers)"))
                    if secondsPerLayer > 0 { Thread.sleep(forTimeInterval: secondsPerLayer) }
                }
                let s = PruneReport.Shot(shot: shot, targetSparsity: target(request, shot, shots),
                                         achievedSparsity: target(request, shot, shots),
                                         perplexity: perplexity(request, shot, shots), seconds: ["update": secondsPerLayer * Double(layers)])
                try writeCheckpoint(s, in: outputDirectory)
                shotReports.append(s)
            }
        }
        if isCancelled() { throw PruneCancelled() }
        progress(PruneProgress(phase: "saving", shot: shots, shots: shots, fraction: 1, etaSeconds: 0, message: "saving"))
        let model = (0..<modelBytes).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
        try AtomicFile.write(Data(model), to: outputDirectory.appendingPathComponent("model.safetensors"))
        let params = 134_515_008
        let removed = Int(Double(params) * request.sparsity)
        let report = PruneReport(request: request, prunableParameters: params, removedParameters: removed,
                                 parametersBefore: params, parametersAfter: params - removed,
                                 perplexityBefore: 20, perplexityAfter: perplexity(request, shots, shots),
                                 evaluation: "simulated", layers: [PruneReport.Layer(name: "layers.0.mlp.up_proj", parameters: 884_736, zeros: Int(884_736 * request.sparsity))],
                                 shots: shotReports, seconds: ["total": secondsPerLayer * Double(layers * shots)],
                                 peakRSSBytes: nil, artifacts: ["model.safetensors", "report.json"])
        try AtomicFile.write(try JobCoding.encoder(pretty: true).encode(report), to: outputDirectory.appendingPathComponent("report.json"))
        progress(PruneProgress(phase: "done", shot: shots, shots: shots, fraction: 1, etaSeconds: 0, message: "done"))
        return report
    }

    private func target(_ r: PruneRequest, _ shot: Int, _ shots: Int) -> Double {
        var q = r; q.shots = shots
        return q.shotTarget(shot)
    }
    private func perplexity(_ r: PruneRequest, _ shot: Int, _ shots: Int) -> Double { 20 * (1 + target(r, shot, shots)) }

    private func writeCheckpoint(_ s: PruneReport.Shot, in output: URL) throws {
        let dir = output.appendingPathComponent("checkpoints")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let final = dir.appendingPathComponent("shot-\(s.shot)")
        let tmp = dir.appendingPathComponent(".tmp-shot-\(s.shot)")
        try? FileManager.default.removeItem(at: tmp)
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        try AtomicFile.write(Data(repeating: UInt8(s.shot), count: 1024), to: tmp.appendingPathComponent("model.bin"))
        try AtomicFile.write(try JobCoding.encoder(pretty: true).encode(s), to: tmp.appendingPathComponent("checkpoint.json"))
        try? FileManager.default.removeItem(at: final)
        try FileManager.default.moveItem(at: tmp, to: final)
        AtomicFile.syncDirectory(dir.path)
    }
}
