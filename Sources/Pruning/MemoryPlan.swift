import Checkpoint
import Foundation

/// What a prune will hold in memory and write to disk, phase by phase, computed from the model's dimensions,
/// the request and a byte budget before any work starts, and the mode that fits: `inMemory` (every layer's
/// K-FAC factors held together, the fast path) whenever it fits, `streamed` (calibration rows spilled to disk,
/// one layer's factors at a time, `ShotPruner.runStreamed`) otherwise. The same plan decides the runner's mode,
/// the command line's `--memory-budget` refusal and the service's admission.
///
/// Every figure is a sum of named buffers of the engine (the comments say which); `overheadBytes` is the
/// process without a model (runtime, OpenBLAS buffers), measured. Tests compare it with measured peaks.
public struct MemoryPlan: Codable, Sendable, Equatable {
    public enum Mode: String, Codable, Sendable {
        case inMemory = "in_memory"
        case streamed
    }

    /// Peak bytes of one phase.
    public struct Phase: Codable, Sendable, Equatable {
        public var name: String
        public var bytes: Int
        /// The buffers the figure adds up, largest first (`weights 538 MB, factors 1.1 GB, …`).
        public var detail: String
    }

    /// Bytes written to disk.
    public struct Disk: Codable, Sendable, Equatable {
        /// The streamed mode's spill of one shot (deleted when the shot ends); 0 in memory.
        public var spillBytes: Int
        /// Shot checkpoints present at once (the last finished one and the one being written, or all with
        /// `keep_checkpoints`).
        public var checkpointBytes: Int
        /// The pruned model written at the end.
        public var outputBytes: Int
        public var totalBytes: Int
        /// Streamed mode: every layer's finalized factors and LLM Surgeon's inverses kept on disk during the shot so
        /// the second pass reads them instead of computing them again (used when the disk holds them besides
        /// `totalBytes`; 0 in memory).
        public var factorBytes: Int

        public init(spillBytes: Int, checkpointBytes: Int, outputBytes: Int, factorBytes: Int = 0) {
            self.spillBytes = spillBytes; self.checkpointBytes = checkpointBytes; self.outputBytes = outputBytes
            self.factorBytes = factorBytes
            totalBytes = spillBytes + checkpointBytes + outputBytes
        }

        enum CodingKeys: String, CodingKey {
            case spillBytes = "spill_bytes", checkpointBytes = "checkpoint_bytes", outputBytes = "output_bytes", totalBytes = "total_bytes"
            case factorBytes = "factor_bytes"
        }
    }

    public var mode: Mode
    /// How the decoder Linears' weights are held: `f32`, or (streamed only, when fp32 does not fit) the
    /// checkpoint's `f16` when every one of them is stored F16 (exact), `bf16` otherwise.
    public var weights: WeightPrecision
    public var budgetBytes: Int
    /// The phases of the chosen mode.
    public var phases: [Phase]
    /// The largest phase of the chosen mode: what the prune needs.
    public var peakBytes: Int
    /// The peaks of both modes (`streamedPeakBytes` nil where the structure cannot stream).
    public var inMemoryPeakBytes: Int
    public var streamedPeakBytes: Int?
    /// The smallest budget any mode fits in.
    public var minimumBytes: Int
    public var disk: Disk
    public var parameters: Int
    public var prunableParameters: Int
    /// Why this mode.
    public var reason: String

    /// The storage of the prunable weights while pruning.
    public enum WeightPrecision: String, Codable, Sendable {
        case f32, bf16, f16
        public var bytes: Int { self == .f32 ? 4 : 2 }
        /// The loader's 16-bit format, `nil` for fp32.
        public var half: HalfTensor.Kind? { self == .bf16 ? .bf16 : self == .f16 ? .f16 : nil }
    }

    /// The process without a model: Swift runtime, Foundation, OpenBLAS's per-thread buffers, the tokenizer
    /// (measured as the load phase's peak minus the weights: 53 MiB on SmolLM2, 113 MiB on the TinyLlama shape).
    public static let overheadBytes = 96 << 20

    /// The default budget: 80 % of this machine's RAM.
    public static var defaultBudget: Int { Int(Double(ProcessInfo.processInfo.physicalMemory) * 0.8) }

    /// Plans `request` on a model of `config`; `fileBytes` is the size of the model file (mapped while loading).
    /// Throws `PruningError.overBudget` naming the minimum when no mode fits `budget`.
    public static func make(config: ModelConfig, request: PruneRequest, fileBytes: Int, budget: Int? = nil,
                            linearsAreF16: Bool = false) throws -> MemoryPlan {
        let plan = estimate(config: config, request: request, fileBytes: fileBytes, budget: budget, linearsAreF16: linearsAreF16)
        guard plan.peakBytes <= plan.budgetBytes else {
            let streamNote = plan.streamedPeakBytes == nil
                ? "; the streamed mode supports structured pruning only, so \(request.structure.rawValue) needs the in-memory mode"
                : ""
            throw PruningError.overBudget("memory budget \(bytes(plan.budgetBytes)) is below the minimum \(bytes(plan.minimumBytes)) this prune needs (\(plan.streamedPeakBytes == nil ? "in memory" : "streamed"): \(plan.phases.max { $0.bytes < $1.bytes }.map { "\($0.name): \($0.detail)" } ?? "")\(streamNote)); pass at least --memory-budget \(bytes(plan.minimumBytes))")
        }
        return plan
    }

    /// The plan without the budget check (`peakBytes` may exceed `budgetBytes`).
    /// `linearsAreF16`: every decoder Linear weight of the checkpoint is stored F16, so 16-bit weights can be f16 (exact).
    public static func estimate(config: ModelConfig, request: PruneRequest, fileBytes: Int, budget: Int? = nil,
                                linearsAreF16: Bool = false) -> MemoryPlan {
        let shape = Shape(config)
        let budget = budget ?? request.memoryBudget ?? defaultBudget
        let inMemory = phases(shape, request, fileBytes: fileBytes, streamed: false, weights: .f32)
        let streamable = ShotPruner.streams(request.structure) && request.loraRank == 0
        let half: WeightPrecision = linearsAreF16 ? .f16 : .bf16
        let streamed32 = streamable ? phases(shape, request, fileBytes: fileBytes, streamed: true, weights: .f32) : nil
        let streamed16 = streamable ? phases(shape, request, fileBytes: fileBytes, streamed: true, weights: half) : nil
        let peak = { (p: [Phase]) in p.map(\.bytes).max() ?? 0 }
        let peakIn = peak(inMemory)
        let halfWeights = streamed32.map { peak($0) > budget } ?? false
        let streamed = halfWeights ? streamed16 : streamed32
        let peakSt = streamed.map(peak)
        let useStreamed = peakIn > budget && peakSt != nil
        let chosen = useStreamed ? streamed! : inMemory
        let weights: WeightPrecision = useStreamed && halfWeights ? half : .f32
        let need = CurvatureEstimator.need(for: request.method)
        let tokens = request.samples * request.seqlen
        let aBytes = shape.inputWidths.reduce(0) { $0 + $1 * $1 } * 4, gBytes = shape.linears.reduce(0) { $0 + $1.rows * $1.rows } * 4
        // LLM Surgeon's inverses, kept beside the factors: each Linear's G and A inverses (q/k/v may each
        // have their own live columns of a shared A), the matrix and its diagonal.
        let inverseBytes = request.method == .llmSurgeon
            ? shape.linears.reduce(0) { t, l in let c = l.cols + (l.bias ? 1 : 0); return t + c * c + c + l.rows * l.rows + l.rows } * 4 : 0
        let spillWidths = shape.inputWidths.reduce(0, +) + (need == .kfac ? shape.linears.reduce(0) { $0 + $1.rows } : 0)
        let spill = useStreamed && need != .identity ? tokens * spillWidths * request.spillPrecision.bytes : 0
        let output = shape.parameters * request.dtype.bytes
        let reason: String
        if !useStreamed {
            reason = peakIn <= budget ? "the in-memory mode fits the budget" : (streamable ? "" : "only the in-memory mode plans \(request.structure.rawValue)\(request.loraRank > 0 ? " with a low-rank correction" : "")")
        } else {
            reason = "the in-memory mode needs \(bytes(peakIn)), over the budget of \(bytes(budget)): curvature rows spilled to disk, one layer's factors at a time"
                + (weights == .f32 ? "" : "; fp32 weights would need \(bytes(peak(streamed32!))), so the decoder Linears are held in \(weights.rawValue)")
        }
        let minimum = min(peakIn, streamed16.map(peak) ?? peakIn)
        let ckBytes = shape.prunable * weights.bytes * (request.keepCheckpoints ? request.shots : min(request.shots, 2))
        return MemoryPlan(mode: useStreamed ? .streamed : .inMemory, weights: weights, budgetBytes: budget, phases: chosen,
                          peakBytes: peak(chosen), inMemoryPeakBytes: peakIn, streamedPeakBytes: peakSt,
                          minimumBytes: minimum,
                          disk: Disk(spillBytes: spill, checkpointBytes: ckBytes, outputBytes: output,
                                     factorBytes: useStreamed && need != .identity ? aBytes + (need == .kfac ? gBytes : 0) + inverseBytes : 0),
                          parameters: shape.parameters, prunableParameters: shape.prunable, reason: reason)
    }

    /// Whether the disk under `directory` also holds the streamed mode's kept factors (`disk.factorBytes`).
    public func keepsFactors(at directory: URL) -> Bool {
        guard mode == .streamed, disk.factorBytes > 0, let free = Self.freeBytes(directory) else { return false }
        return disk.totalBytes + disk.factorBytes <= free * 9 / 10
    }

    static func freeBytes(_ directory: URL) -> Int? {
        var st = statvfs()
        var dir = directory
        while !FileManager.default.fileExists(atPath: dir.path), dir.pathComponents.count > 1 { dir.deleteLastPathComponent() }
        guard statvfs(dir.path, &st) == 0 else { return nil }
        return Int(st.f_bavail) * Int(st.f_frsize)
    }

    /// Refuses a plan whose disk bytes exceed the free space of the file system holding `directory`.
    public func checkDisk(at directory: URL) throws {
        guard let free = Self.freeBytes(directory) else { return }
        let dir = directory.path
        guard disk.totalBytes <= free else {
            throw PruningError.insufficientDisk("not enough disk for this prune under \(dir): it writes \(Self.bytes(disk.totalBytes)) (spill \(Self.bytes(disk.spillBytes)), checkpoints \(Self.bytes(disk.checkpointBytes)), output \(Self.bytes(disk.outputBytes))) and \(Self.bytes(free)) are free")
        }
    }

    // MARK: - The arithmetic

    /// The model dimensions the plan reads.
    struct Shape {
        struct Linear { var rows: Int; var cols: Int; var bias: Bool; var slot: Int }
        var c: Int, vocab: Int, headDim: Int
        var blocks: [(hd: Int, kvd: Int, f: Int, gated: Bool)] = []
        /// Gemma: q/k norms and post-norms keep their inputs and statistics for the backward.
        var gemma = false
        /// RoPE tables (cos and sin; Gemma's sliding layers have their own).
        var ropeFloats = 0
        var linears: [Linear] = []
        var inputWidths: [Int] = []
        var parameters = 0, prunable = 0

        init(_ cfg: ModelConfig) {
            c = cfg.hiddenSize; vocab = cfg.vocabSize; headDim = cfg.headDim
            let llama = cfg.architecture.isLlamaLike
            parameters = vocab * c * (cfg.tieWordEmbeddings ? 1 : 2) + (llama ? 0 : (cfg.maxPositions + 2) * c)
            parameters += c * (llama ? 1 : 2)  // final norm
            gemma = cfg.architecture.isGemma
            if llama { ropeFloats = cfg.maxPositions * headDim * (cfg.ropeLocalTheta != nil && cfg.slidingWindow != nil ? 2 : 1) }
            for l in 0..<cfg.numLayers {
                let hd = cfg.heads(l) * headDim, kvd = (llama ? cfg.kvHeads(l) : cfg.heads(l)) * headDim, f = cfg.ffnWidth(l)
                blocks.append((hd, kvd, f, llama))
                let b = !llama || cfg.attentionBias
                // Engine order (Model's TransformerModel): q, k, v, o, [gate], up, down with their input groups.
                var mats: [(Int, Int, Bool, Int)] = [(hd, c, b, 0), (kvd, c, b, 0), (kvd, c, b, 0), (c, hd, b, 1)]
                if llama { mats += [(f, c, false, 2), (f, c, false, 2), (c, f, false, 3)] } else { mats += [(f, c, true, 2), (c, f, true, 3)] }
                var slots: [Int: Int] = [:]
                for (r, cc, bias, group) in mats {
                    let key = group * 2 + (bias ? 1 : 0)
                    let slot = slots[key] ?? { inputWidths.append(cc + (bias ? 1 : 0)); slots[key] = inputWidths.count - 1; return inputWidths.count - 1 }()
                    linears.append(Linear(rows: r, cols: cc, bias: bias, slot: slot))
                    prunable += r * cc + (bias ? r : 0)
                }
                parameters += c * (llama ? 2 : 4)  // two norms (with biases for OPT)
                if gemma { parameters += 2 * c + 2 * headDim }  // post-norms, q/k norms
            }
            parameters += prunable
        }
    }

    static func phases(_ s: Shape, _ r: PruneRequest, fileBytes: Int, streamed: Bool, weights precision: WeightPrecision) -> [Phase] {
        let f = 4
        let weights = (s.parameters - s.prunable) * f + s.prunable * precision.bytes + s.ropeFloats * f
        let wname = precision == .f32 ? "fp32 weights" : "weights (decoder Linears in \(precision.rawValue))"
        // 16-bit storage: each Linear is materialised in fp32 for its product, one at a time.
        let biggestLinear = s.linears.map { $0.rows * $0.cols }.max() ?? 0
        let materialised = precision == .f32 ? 0 : biggestLinear * f
        let need = CurvatureEstimator.need(for: r.method)
        let t = r.seqlen
        let maxF = s.blocks.map(\.f).max() ?? 0, maxHD = s.blocks.map(\.hd).max() ?? 0, maxKVD = s.blocks.map(\.kvd).max() ?? 0
        // TransformerModel.gradients: one BlockActivations per block (input, q, k, v, attention output, mid, gate,
        // up / hidden, norm statistics), shared scratch (two norm outputs, hidden, projection, attention rows),
        // the residual stream and its gradient, the LM head's chunk of 256 logit rows, BackwardScratch.
        let perBlock = s.blocks.reduce(0) { $0 + t * (2 * s.c + 2 * $1.hd + 2 * $1.kvd + 4 + ($1.gated ? 2 * $1.f : $1.f)) }
            + (s.gemma ? s.blocks.reduce(0) { $0 + t * ($1.hd + $1.kvd + 2 * s.c + 2 + ($1.hd + $1.kvd) / max(1, s.headDim)) } : 0)
        let attentionRows = 2 * (maxHD / max(1, s.headDim)) * min(64, t) * (t + 2 * s.headDim)
        let shared = t * (3 * s.c + maxF) + attentionRows
        let head = min(256, t) * s.vocab + 4 * t * s.c
        let backward = t * (3 * maxF + 2 * s.c + 2 * maxHD + 2 * maxKVD) + (s.gemma ? t * (s.c + maxHD + maxKVD) : 0)
        let passBytes = need == .identity ? 0 : (perBlock + shared + head + backward) * f  // magnitude runs no pass
        let aFactors = s.inputWidths.reduce(0) { $0 + $1 * $1 } * f
        let gFactors = s.linears.reduce(0) { $0 + $1.rows * $1.rows } * f
        let factors = need == .identity ? 0 : aFactors + (need == .kfac ? gFactors : 0)
        let surgeon = r.method == .llmSurgeon
        let largest = s.linears.map { max($0.rows, $0.cols + ($0.bias ? 1 : 0)) }.max() ?? 0
        // InverseFactor: the damped fp64 sub-matrix factored in place, then its fp32 copy (measured on the 7B
        // shape's 11008-wide factors: 12 bytes per element at the peak).
        let inverting = surgeon ? largest * largest * (8 + 4) : 0
        var out: [Phase] = []
        // The loader drops each tensor's file pages once converted (MappedFile.release: measured, the mapping adds
        // nothing visible at the peak); 16-bit storage adds the transient fp32 conversions of two tensors at a time.
        let converting = precision == .f32 ? 0 : 2 * biggestLinear * f
        out.append(Phase(name: "load", bytes: overheadBytes + weights + converting,
                         detail: "\(wname) \(bytes(weights))" + (converting > 0 ? ", tensors being converted \(bytes(converting))" : "")))
        let evalT = r.evalSeqlen
        let evalBytes = (evalT * (6 * s.c + 2 * maxF + 2 * maxHD + 2 * maxKVD) + min(256, evalT) * s.vocab
                         + 2 * (maxHD / max(1, s.headDim)) * min(64, evalT) * (evalT + 2 * s.headDim)) * f
        if !streamed {
            out.append(Phase(name: "curvature", bytes: overheadBytes + weights + factors + passBytes,
                             detail: "\(wname) \(bytes(weights)), K-FAC factors of every layer \(bytes(factors)), one sequence's forward/backward \(bytes(passBytes))"))
            var costs = 0, perLayer = inverting, inverses = surgeon ? factors : 0
            switch r.structure {
            case .structured, .coupled:
                costs = (s.linears.reduce(0) { $0 + $1.rows + $1.cols }) * f
            case .unstructured, .semi24:
                // Element costs of every layer, then per worker a mask and the dense inverses (CorrelatedUpdate).
                costs = s.prunable * f
                let biggest = s.linears.map { $0.rows * ($0.cols + 1) }.max() ?? 0
                if r.method == .sparsegpt {
                    inverses = 0
                    let w = s.inputWidths.max() ?? 0
                    perLayer = w * w * 8 * 3  // the Hessian's fp64 copies and its Cholesky factor
                } else if r.method == .wanda || r.method == .magnitude {
                    perLayer = biggest
                } else {
                    perLayer += 2 * (biggest + 2 * largest * largest * f)
                }
            }
            out.append(Phase(name: "prune", bytes: overheadBytes + weights + factors + inverses + costs + perLayer,
                             detail: "\(wname) \(bytes(weights)), K-FAC factors \(bytes(factors)), inverses of every layer \(bytes(inverses)), costs \(bytes(costs)), the largest layer's working set \(bytes(perLayer))"))
        } else {
            let spillBuffer = (1 << 18) * 2 + t * (s.c + 1) * f
            out.append(Phase(name: "curvature", bytes: overheadBytes + weights + passBytes + spillBuffer + materialised,
                             detail: "\(wname) \(bytes(weights)), one sequence's forward/backward \(bytes(passBytes)), spill buffers \(bytes(spillBuffer))"))
            // One Linear at a time: its G (and its inverse), the A it shares (and its inverse), the fp64 inversion,
            // two copies of its weights (the working one and the one the diagnostics compare with), one spilled block.
            let layer = s.linears.map { l -> Int in
                let a = s.inputWidths[l.slot], g = need == .kfac ? l.rows : 0
                let inv = surgeon ? (a * a + g * g) * f : 0
                return (a * a + g * g) * f + inv + 2 * l.rows * (l.cols + 1) * f + t * max(a, g) * (f + 2)
            }.max() ?? 0
            let costs = (s.linears.reduce(0) { $0 + $1.rows + $1.cols }) * f
            out.append(Phase(name: "prune", bytes: overheadBytes + weights + costs + layer + inverting,
                             detail: "\(wname) \(bytes(weights)), the largest Linear's factors, inverses and weight copies \(bytes(layer + inverting)), costs \(bytes(costs))"))
        }
        if r.eval != nil {
            out.append(Phase(name: "eval", bytes: overheadBytes + weights + evalBytes + materialised,
                             detail: "\(wname) \(bytes(weights)), one \(evalT)-token window's forward \(bytes(evalBytes))"))
        }
        out.append(Phase(name: "save", bytes: overheadBytes + weights + (4 << 20) + materialised,
                         detail: "\(wname) \(bytes(weights)), written in 4 MiB pieces"))
        return out
    }

    /// `1.23 GiB`, `456 MiB`.
    public static func bytes(_ n: Int) -> String {
        let g = Double(n) / Double(1 << 30)
        return g >= 1 ? String(format: "%.2f GiB", g) : String(format: "%.0f MiB", Double(n) / Double(1 << 20))
    }

    enum CodingKeys: String, CodingKey {
        case mode, weights, phases, disk, parameters, reason
        case budgetBytes = "budget_bytes", peakBytes = "peak_bytes", inMemoryPeakBytes = "in_memory_peak_bytes"
        case streamedPeakBytes = "streamed_peak_bytes", minimumBytes = "minimum_bytes", prunableParameters = "prunable_parameters"
    }
}
