import Checkpoint
import Cluster
import Foundation
import Model
import Tensor

/// The real job runner: multi-shot LLM Surgeon (method.md §1, §7) on a real model.
///
/// Per shot t = 1…T: target s_t = `request.shotTarget(t)` (t·s/T by default); K-FAC curvature re-estimated on the current weights; costs of
/// every structure of every layer; one global threshold; updates and masks; evaluation; then a durable
/// checkpoint. A run whose output directory already holds finished shots resumes after the last one.
///
/// On several MPI ranks (`communicator.size > 1`, issue 13) every rank runs this with the same request: the
/// calibration sequences and the evaluation windows are split across ranks, each Linear is pruned by the rank
/// that owns its block (`LayerPartition`), and rank 0 alone writes the plan, the checkpoints, the model and the
/// report (the other ranks write nothing).
public struct SurgeonRunner: PruneRunner {
    /// Receives human-readable log lines (the command line prints them; the service stores them).
    public var log: (@Sendable (String) -> Void)?
    /// The ranks of this run (the one-process twin by default).
    public var communicator: any Communicator

    public init(log: (@Sendable (String) -> Void)? = nil, communicator: any Communicator = LocalCommunicator()) {
        self.log = log; self.communicator = communicator
    }

    public func run(_ request: PruneRequest, outputDirectory: URL,
                    progress: @escaping @Sendable (PruneProgress) -> Void,
                    isCancelled: @escaping @Sendable () -> Bool) throws -> PruneReport {
        try request.validate()
        let comm = communicator, writes = comm.rank == 0, distributed = comm.size > 1
        let fm = FileManager.default
        if writes { try fm.createDirectory(at: ShotCheckpoint.directory(outputDirectory), withIntermediateDirectories: true) }
        let timer = PhaseTimer()
        let tracker = ProgressTracker(shots: request.shots, evaluates: request.eval != nil, report: progress)

        // The memory plan, from the model's header, before any work: it refuses a budget below its minimum and a
        // disk that cannot hold what it writes, and chooses the in-memory or the streamed mode.
        let header = try CheckpointLoader.header(path: request.model)
        try request.validate(against: header.config)
        let plan = try MemoryPlan.make(config: header.config, request: request, fileBytes: header.fileBytes,
                                       linearsAreF16: header.linearsAreF16)
        if distributed {
            if plan.mode == .streamed {
                throw PruneRequest.Invalid(errors: ["memory_budget: the in-memory mode needs \(MemoryPlan.bytes(plan.inMemoryPeakBytes)) per rank and the budget is \(MemoryPlan.bytes(plan.budgetBytes)); the streamed mode it would choose runs in one process only: raise the budget or run without mpirun"])
            }
            if request.loraRank > 0 {
                throw PruneRequest.Invalid(errors: ["lora_rank: the low-rank correction runs in one process only; drop it (lora_rank 0) or run without mpirun"])
            }
        }
        if writes {
            try plan.checkDisk(at: outputDirectory)
            try ShotCheckpoint.writeJSON(plan, to: outputDirectory.appendingPathComponent("plan.json"))
        }
        log?("memory plan: \(plan.mode.rawValue), \(plan.weights.rawValue) weights, peak \(MemoryPlan.bytes(plan.peakBytes)) of a \(MemoryPlan.bytes(plan.budgetBytes)) budget (\(plan.reason)); disk \(MemoryPlan.bytes(plan.disk.totalBytes))")

        // Load the model, the calibration windows and the evaluation tokens.
        tracker.update(phase: "loading", shot: 0, fraction: 0, message: "loading \(request.model)")
        var lm = try timer.time("load") { try LanguageModel.load(path: request.model, half: plan.weights.half) }
        let parametersBefore = lm.checkpoint.tensors.values.reduce(0) { $0 + $1.count }
            + lm.model.blocks.flatMap(\.linears).filter { $0.halfKind != nil }.reduce(0) { $0 + $1.rows * $1.cols }
        for id in lm.model.linearIDs {  // the engine holds these now; keep one copy only
            let name = lm.model[linear: id].name
            lm.checkpoint.tensors[name + ".weight"] = nil
            lm.checkpoint.tensors[name + ".bias"] = nil
        }
        if request.biasCompensation { Self.addCompensatingBiases(&lm.model) }
        guard !lm.model.linearIDs.isEmpty else {
            throw PruningError.unsupported(method: request.method.rawValue, structure: "a model with no prunable layers")
        }
        var evalTokens = try request.eval.map { path in try timer.time("tokenize") { try lm.tokenize(file: path) } }
        let evalIsCalibration = Self.sameFile(request.eval, request.calibration)
        let calibrationTokens = try evalIsCalibration ? evalTokens! : timer.time("tokenize") { try lm.tokenize(file: request.calibration) }
        var heldOut: Range<Int>? = nil
        if let tokens = evalTokens {
            guard request.evalOffset + request.evalSeqlen <= tokens.count else {
                throw PruneRequest.Invalid(errors: ["eval: \(tokens.count) tokens, fewer than one window of \(request.evalSeqlen) after offset \(request.evalOffset)"])
            }
            let windows = min((tokens.count - request.evalOffset) / request.evalSeqlen, request.evalWindows ?? Int.max)
            if evalIsCalibration {
                heldOut = request.evalOffset ..< request.evalOffset + windows * request.evalSeqlen
            }
            evalTokens = Array(tokens[request.evalOffset...])
        }
        let calibration = try CalibrationSet(tokens: calibrationTokens.map(Int32.init), samples: request.samples,
                                             seqlen: request.seqlen, seed: request.seed, excluding: heldOut)
        if let heldOut { log?("dev split: tokens \(heldOut.lowerBound)..<\(heldOut.upperBound) of the calibration text are evaluated and never calibrated on") }
        let coupling = request.structure == .coupled ? try Self.couplingPlan(lm.model) : nil
        if let coupling, request.uniform {
            let shapes = lm.model.blocks.flatMap { $0.linears.map { (rows: $0.rows, cols: $0.cols) } }
            try ShotPruner.checkUniform(coupling, shapes: shapes, sparsity: request.sparsity, multiple: request.uniformMultiple)
        }
        if writes { try ShotCheckpoint.writeJSON(request, to: outputDirectory.appendingPathComponent("request.json")) }

        // Resume after the last finished shot, or measure the dense model first. Rank 0 reads the checkpoints and
        // sends the restored weights to the other ranks (which need no access to the output directory).
        var shots = writes ? ShotCheckpoint.finishedShots(in: outputDirectory) : []
        let sparsityBefore = Self.sparsity(lm.model)
        if let last = shots.last {
            try ShotCheckpoint.restore(model: &lm.model, output: outputDirectory, shot: last.shot)
            log?("resuming after shot \(last.shot) of \(request.shots)")
        }
        var finished = shots.count
        try comm.broadcast(&finished, root: 0)
        if distributed, finished > 0 { try Self.broadcastWeights(&lm.model, from: 0, over: comm) }
        let densePath = ShotCheckpoint.directory(outputDirectory).appendingPathComponent("dense.json")
        var densePerplexity: Double? = writes ? (try? Data(contentsOf: densePath)).flatMap { try? JSONDecoder().decode(Double.self, from: $0) } : nil
        if distributed {
            var d = [densePerplexity ?? .nan]
            try comm.broadcast(&d, root: 0)
            densePerplexity = d[0].isNaN ? nil : d[0]
        }
        if let evalTokens, densePerplexity == nil, finished == 0 {
            densePerplexity = try evaluate(lm.model, evalTokens, request, timer: timer, tracker: tracker, shot: 0, isCancelled: isCancelled)
            if writes { try ShotCheckpoint.writeJSON(densePerplexity, to: densePath) }
            log?(String(format: "dense perplexity %.4f", densePerplexity!))
        }

        let ids = lm.model.linearIDs
        let need = CurvatureEstimator.need(for: request.method)
        var shotPeaks: [String: Int] = [:]
        let partition = LayerPartition(communicator: comm, blocks: ids.map(\.layer))
        var bytesSent: [[Int]] = [], runSeconds: [String: Double] = [:]
        for shot in stride(from: finished + 1, through: request.shots, by: 1) {
            let sentBefore = comm.bytesSent
            if isCancelled() { throw PruneCancelled() }
            let target = request.shotTarget(shot)
            let shotTimer = PhaseTimer()

            let curvatureProgress: (Int, Int) -> Void = { done, total in
                tracker.update(phase: "curvature", shot: shot, fraction: Double(done) / Double(total),
                               layer: done, layers: total, message: "curvature: sequence \(done)/\(total)")
            }
            let pruneProgress: (String, Int, Int) -> Void = { phase, layer, count in
                tracker.update(phase: phase, shot: shot, fraction: Double(layer) / Double(max(count, 1)),
                               layer: layer, layers: count, message: "\(phase): layer \(layer)/\(count)")
            }
            let options = ShotOptions(request: request, sparsity: target, coupling: coupling, structuredOrder: request.structuredOrder)
            let calibrationLoss: Double?
            let result: ShotResult
            if plan.mode == .streamed {
                // Curvature rows to disk in one pass, then one Linear's factors at a time (ShotPruner.runStreamed).
                let spill = try ActivationSpill(directory: outputDirectory.appendingPathComponent("spill", isDirectory: true),
                                                precision: request.spillPrecision)
                defer { spill.remove() }
                calibrationLoss = try shotTimer.time("curvature") {
                    try CurvatureEstimator.spill(model: lm.model, sequences: calibration.sequences, need: need, into: spill,
                                                 progress: curvatureProgress, isCancelled: isCancelled)
                }
                let source = SpilledCurvature(layout: CurvatureLayout(model: lm.model), spill: spill, need: need,
                                              keepFactors: plan.keepsFactors(at: outputDirectory))
                result = try shotTimer.time("prune") {
                    try ShotPruner.runStreamed(count: ids.count, options: options, inverseStore: source.store, layer: { i in
                        let l = lm.model[linear: ids[i]]
                        return PrunableLayer(name: l.name, weight: Self.augmented(l), curvature: try source.curvature(i), hasBias: l.bias != nil)
                    }, store: { i, layer in Self.writeBack(layer.weight, into: &lm.model[linear: ids[i]]) },
                    progress: pruneProgress, isCancelled: isCancelled)
                }
            } else {
                // Curvature on the current weights, every layer's factors at once.
                let (curvature, loss) = try shotTimer.time("curvature") {
                    try CurvatureEstimator.estimateWithLoss(model: lm.model, sequences: calibration.sequences, need: need,
                                                            partition: partition, gradients: options.scoredLayers(count: ids.count),
                                                            progress: curvatureProgress, isCancelled: isCancelled)
                }
                calibrationLoss = loss
                // Costs, global threshold, updates and masks. The layers take the model's weights over (the model
                // keeps none meanwhile), so no copy of every weight is made when they change.
                var layers = ids.enumerated().map { i, id -> PrunableLayer in
                    let l = lm.model[linear: id]
                    let layer = PrunableLayer(name: l.name, weight: Self.augmented(l), curvature: curvature[i], hasBias: l.bias != nil)
                    lm.model[linear: id].weight = []
                    return layer
                }
                result = try shotTimer.time("prune") {
                    try ShotPruner.run(&layers, options: options, partition: partition, progress: pruneProgress, isCancelled: isCancelled)
                }
                for (i, id) in ids.enumerated() { Self.writeBack(layers[i].weight, into: &lm.model[linear: id]) }
                layers.removeAll()
            }
            if request.loraRank > 0 {  // low-rank correction, absorbed before evaluation (method.md §8)
                let tunes = try shotTimer.time("lora") {
                    try LowRankCorrection.afterShot(model: &lm.model, calibration: calibration.sequences, request: request, shot: shot,
                                                    progress: { done, total in
                        tracker.update(phase: "lora", shot: shot, fraction: Double(done) / Double(total), layer: done, layers: total,
                                       message: "low-rank tune: step \(done)/\(total)")
                    }, isCancelled: isCancelled)
                }
                for t in tunes { log?(t.summary) }
            }

            let evaluateNow = shot == request.shots || shot % request.evalEvery == 0
            let ppl = try evalTokens.flatMap { tokens in evaluateNow ? tokens : nil }.map { try evaluate(lm.model, $0, request, timer: shotTimer, tracker: tracker, shot: shot, isCancelled: isCancelled) }
            var seconds = shotTimer.seconds
            for (k, v) in result.seconds { seconds["prune." + k] = v }
            runSeconds.merge(seconds) { $0 + $1 }
            let lossScale = Double(request.seqlen) * Double(request.seqlen - 1)  // K-FAC units → calibration loss (docs/quality.md)
            let record = PruneReport.Shot(shot: shot, targetSparsity: target, achievedSparsity: Self.sparsity(lm.model),
                                          perplexity: ppl, seconds: seconds, calibrationLoss: calibrationLoss,
                                          predictedIncrease: result.quadraticModelIncrease.map { $0 * lossScale },
                                          selectedCost: result.selectedCost.map { $0 * lossScale },
                                          refitBefore: result.refit.map { $0.before * lossScale },
                                          refitAfter: result.refit.map { $0.after * lossScale })
            if writes {
                try shotTimer.time("save") { try ShotCheckpoint.save(model: lm.model, record: record, output: outputDirectory) }
                if !request.keepCheckpoints, shot > 1 { ShotCheckpoint.dropWeights(outputDirectory, shot: shot - 1) }
            }
            if distributed {
                try comm.barrier()  // the shot is finished once rank 0's checkpoint is on disk
                bytesSent.append(try comm.allGather([Double(comm.bytesSent - sentBefore)]).map { Int($0) })
            }
            shots.append(record)
            log?(String(format: "shot %d/%d: target %.4f achieved %.4f%@  (%@)", shot, request.shots, target, record.achievedSparsity,
                        ppl.map { String(format: " ppl %.4f", $0) } ?? "",
                        seconds.sorted { $0.key < $1.key }.filter { !$0.key.contains(".") }.map { String(format: "%@ %.1fs", $0.key, $0.value) }.joined(separator: ", ")))
            for (k, v) in shotTimer.seconds { timer.add(k, v) }
            shotPeaks.merge(shotTimer.peaks) { max($0, $1) }
        }

        // The calibration loss of the pruned model (the last shot's caused increase).
        let lossAfter = try timer.time("calibration_loss") { () throws -> Double in
            var losses = [Double](repeating: 0, count: calibration.sequences.count)
            for i in comm.share(of: losses.count) {
                if isCancelled() { throw PruneCancelled() }
                losses[i] = Double(try lm.model.forward(tokens: calibration.sequences[i].map(Int.init), batch: 1).losses[0])
            }
            try comm.allReduceSum(&losses)  // disjoint: exact
            return CurvatureEstimator.meanLoss(losses)
        }
        let perRank: PruneReport.Distributed? = try distributed ? {
            let phases = ["curvature", "prune", "prune.exchange", "eval"]
            let mine = phases.map { runSeconds[$0] ?? 0 }
            let all = try comm.allGather(mine)
            let perRank = (0..<comm.size).map { r in Dictionary(uniqueKeysWithValues: phases.enumerated().map { ($1, all[r * phases.count + $0]) }) }
            let sequences = (0..<comm.size).map { comm.share(of: calibration.sequences.count, rank: $0).count }
            return PruneReport.Distributed(ranks: comm.size, sequencesPerRank: sequences, secondsPerRank: perRank, bytesSentPerShot: bytesSent)
        }() : nil

        // The pruned model as a Hugging Face directory, and the report.
        tracker.update(phase: "saving", shot: request.shots, fraction: 0, message: "writing the pruned model")
        var out = lm.checkpoint
        let (full, half) = ShotCheckpoint.prunableWeights(lm.model)
        for (name, t) in full { out.tensors[name] = t }
        out.halfTensors = half
        let files = writes ? try timer.time("save") { try HFDirectoryWriter.write(out, to: outputDirectory.path, storage: request.dtype.storage) } : []
        let layerRows = ids.map { id -> PruneReport.Layer in
            let l = lm.model[linear: id]
            let zeros = l.weight.reduce(0) { $0 + ($1 == 0 ? 1 : 0) } + (l.bias?.reduce(0) { $0 + ($1 == 0 ? 1 : 0) } ?? 0)
            return PruneReport.Layer(name: l.name, parameters: l.rows * l.cols + (l.bias?.count ?? 0), zeros: zeros)
        }
        let prunable = layerRows.reduce(0) { $0 + $1.parameters }
        let removed = layerRows.reduce(0) { $0 + $1.zeros }
        let evaluation = request.eval.map { "\(request.evalWindows.map(String.init) ?? "all") non-overlapping windows × \(request.evalSeqlen) tokens of \($0) (\(evalTokens?.count ?? 0) tokens), ppl = exp(mean window loss)" }
        var report = PruneReport(request: request, prunableParameters: prunable, removedParameters: removed,
                                 parametersBefore: parametersBefore, parametersAfter: parametersBefore - removed,
                                 perplexityBefore: densePerplexity, perplexityAfter: shots.last?.perplexity,
                                 evaluation: evaluation, layers: layerRows, shots: shots, seconds: timer.seconds,
                                 peakRSSBytes: PhaseTimer.peakRSSBytes(), artifacts: files + ["report.json"])
        report.seconds["total"] = timer.elapsed
        report.calibrationLossAfter = lossAfter
        report.sparsityBefore = sparsityBefore
        report.effective = EffectiveSettings(request: request)
        report.memory = PruneReport.Memory(plan: plan, measured: timer.peaks.merging(shotPeaks) { max($0, $1) })
        report.distributed = perRank
        if writes { try ShotCheckpoint.writeJSON(report, to: outputDirectory.appendingPathComponent("report.json")) }
        tracker.update(phase: "done", shot: request.shots, fraction: 1, message: "done")
        return report
    }

    private func evaluate(_ model: TransformerModel, _ tokens: [Int], _ request: PruneRequest, timer: PhaseTimer,
                          tracker: ProgressTracker, shot: Int, isCancelled: @escaping () -> Bool) throws -> Double {
        try timer.time("eval") {
            let comm = communicator
            let r = try model.perplexity(tokens: tokens, seqlen: request.evalSeqlen, windows: request.evalWindows,
                                         shard: comm.size > 1 ? (comm.rank, comm.size) : nil) { done, total in
                tracker.update(phase: "evaluating", shot: shot, fraction: Double(done) / Double(max(total, 1)),
                               layer: done, layers: total, message: "evaluating: window \(done)/\(total)")
            }
            guard comm.size > 1 else { return r.perplexity }
            var losses = r.windowLosses
            try comm.allReduceSum(&losses)  // each window on one rank: exact
            return exp(CurvatureEstimator.sumInOrder(losses) / Double(losses.count))
        }
    }

    /// Every prunable Linear's weights and bias of `root` reach every rank (a resumed distributed run).
    static func broadcastWeights(_ model: inout TransformerModel, from root: Int, over comm: any Communicator) throws {
        for id in model.linearIDs {
            precondition(model[linear: id].halfKind == nil, "distributed runs hold fp32 weights (the in-memory mode)")
            try comm.broadcast(&model[linear: id].weight, root: root)
            if model[linear: id].bias != nil { try comm.broadcast(&model[linear: id].bias!, root: root) }
        }
    }

    /// Whether two paths name the same file (after resolving `.`/`..` and symbolic links).
    static func sameFile(_ a: String?, _ b: String) -> Bool {
        guard let a else { return false }
        let ua = URL(fileURLWithPath: a).resolvingSymlinksInPath().standardizedFileURL
        let ub = URL(fileURLWithPath: b).resolvingSymlinksInPath().standardizedFileURL
        return ua.path == ub.path
    }

    /// `bias_compensation`: a zero bias on every o_proj and down_proj that has none. The curvature pass then
    /// appends A's constant-1 column, and the OBS column update sets the bias (before any shot and before a
    /// resume restores the checkpoint's biases, so the model has the shape the checkpoints were written from).
    static func addCompensatingBiases(_ model: inout TransformerModel) {
        for id in model.linearIDs {
            let l = model[linear: id]
            if (l.role == .o || l.role == .down) && l.bias == nil { model[linear: id].bias = [Float](repeating: 0, count: l.rows) }
        }
    }

    /// Θ = [W, b] with the bias as the last column (method.md §2). // (R, C0 [+1])
    static func augmented(_ l: Linear) -> Tensor {
        let w = l.weight  // one fp32 copy for 16-bit storage
        guard let b = l.bias else { return Tensor(shape: [l.rows, l.cols], data: w) }
        var data = [Float](repeating: 0, count: l.rows * (l.cols + 1))
        for r in 0..<l.rows {
            for c in 0..<l.cols { data[r * (l.cols + 1) + c] = w[r * l.cols + c] }
            data[r * (l.cols + 1) + l.cols] = b[r]
        }
        return Tensor(shape: [l.rows, l.cols + 1], data: data)
    }

    /// Splits Θ back into weight and bias.
    static func writeBack(_ theta: Tensor, into l: inout Linear) {
        guard l.bias != nil else { l.weight = theta.data; return }
        let c = l.cols
        var w = [Float](repeating: 0, count: l.rows * c), b = [Float](repeating: 0, count: l.rows)
        for r in 0..<l.rows {
            for j in 0..<c { w[r * c + j] = theta.data[r * (c + 1) + j] }
            b[r] = theta.data[r * (c + 1) + c]
        }
        l.weight = w; l.bias = b
    }

    /// Fraction of prunable parameters (weights and biases) that are exactly zero.
    public static func sparsity(_ model: TransformerModel) -> Double {
        var zeros = 0, total = 0
        for id in model.linearIDs {
            let l = model[linear: id]
            zeros += l.weight.reduce(0) { $0 + ($1 == 0 ? 1 : 0) } + (l.bias?.reduce(0) { $0 + ($1 == 0 ? 1 : 0) } ?? 0)
            total += l.rows * l.cols + (l.bias?.count ?? 0)
        }
        return total == 0 ? 0 : Double(zeros) / Double(total)
    }

    /// The coupled structures of a Llama-family model (whole FFN neurons and attention heads).
    static func couplingPlan(_ model: TransformerModel) throws -> CouplingPlan {
        let cfg = model.config
        guard cfg.architecture.isLlamaLike else {
            throw PruningError.unsupported(method: "coupled", structure: "architecture \(cfg.architecture.rawValue) (Llama family only)")
        }
        var base = 0
        var blocks: [CouplingPlan.LlamaBlock] = []
        for b in model.blocks {
            func at(_ role: Linear.Role) throws -> Int {
                guard let i = b.index(of: role) else {
                    throw PruningError.unsupported(method: "coupled", structure: "a block without a \(role.rawValue) projection")
                }
                return base + i
            }
            blocks.append(.init(q: try at(.q), k: try at(.k), v: try at(.v), o: try at(.o), gate: try at(.gate), up: try at(.up), down: try at(.down)))
            base += b.linears.count
        }
        return CouplingPlan.llama(blocks: blocks, heads: cfg.numHeads, kvHeads: cfg.numKVHeads, headDim: cfg.headDim, ffn: cfg.intermediateSize)
    }
}
