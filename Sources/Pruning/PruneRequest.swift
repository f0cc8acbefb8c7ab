import Checkpoint
import Foundation

/// Everything that defines a prune: what `surgeon prune` parses and what a job stores.
/// Field names in JSON are snake_case (`max_correlate`, …) through the coding keys.
public struct PruneRequest: Codable, Sendable, Equatable {
    /// Which structures are removed.
    public enum Structure: String, Codable, Sendable, CaseIterable {
        /// Rows and columns of every prunable matrix, independently (the paper's structured mode).
        case structured
        /// Whole FFN neurons and attention heads (method.md §19.1), so the model can be compacted.
        case coupled
        /// Two of every four consecutive input weights of each row.
        case semi24 = "2:4"
        /// Individual weights.
        case unstructured
    }

    /// How structures are scored and whether weights are updated.
    public enum Method: String, Codable, Sendable, CaseIterable {
        case llmSurgeon = "llm-surgeon", kobd, lobd, magnitude, wanda, sparsegpt
    }

    /// Path of the model (GGUF file or Hugging Face directory).
    public var model: String
    public var structure: Structure
    public var method: Method
    /// Final fraction of prunable parameters removed, in (0, 1).
    public var sparsity: Double
    public var shots: Int
    /// Calibration text file.
    public var calibration: String
    /// Calibration sequences and their length in tokens.
    public var samples: Int
    public var seqlen: Int
    public var seed: UInt64
    /// Relative damping of the G and A factors (`nil`: the structure's default).
    public var dampG: Double?
    public var dampA: Double?
    /// Elements per correlated chunk (unstructured / 2:4).
    public var maxCorrelate: Int
    /// Rank of the interleaved low-rank correction; 0 turns it off.
    public var loraRank: Int
    /// Adam learning rate of the correction (linear decay over epochs).
    public var loraLearningRate: Double
    /// Epochs of the final tune on all calibration sequences after the last shot (0: none).
    public var loraEpochs: Int
    /// Fraction of the calibration sequences of each shot's short tune (at least one sequence).
    public var loraSubset: Double
    /// Which Linears get adapters.
    public var loraTargets: LowRankTargets
    /// Evaluation text and window count (`nil`: no evaluation).
    public var eval: String?
    public var evalWindows: Int?
    public var evalSeqlen: Int
    /// Token offset of the first evaluation window (a dev split inside a longer text). When the evaluation
    /// text is the calibration text, no calibration window touches the evaluated tokens.
    public var evalOffset: Int
    /// How the row and column updates of structured pruning combine (`summed`: the reference;
    /// `sequential`: columns on the row-updated weights, the default: best on the dev split, docs/quality.md).
    public var structuredOrder: StructuredUpdateOrder
    /// Coupled only: which member matrices of a neuron or head are scored and updated (`CouplingPlan.Cost`).
    public var coupledCost: CouplingPlan.Cost
    /// Coupled, Llama only: give every o_proj and down_proj a bias (zeros) before the first shot, so that the OBS
    /// update of a removed head's or neuron's columns can put its mean output there (FLAP's compensation, here
    /// solved jointly with the other columns' update through the constant-1 column of A).
    public var biasCompensation: Bool
    /// LLM Surgeon, structured / unstructured / 2:4: conjugate-gradient steps of the refit of the kept weights on
    /// each shot's fixed mask (`MaskedRefit`); 0 turns it off.
    public var refitIterations: Int
    /// 2:4 LLM Surgeon: how a block's cost is scored (`nil`: `defaultPairCost`).
    public var pairCost: SemiStructured.PairCost?
    /// How the removed fraction grows over the shots (`shotTarget`).
    public var schedule: Schedule
    /// Unstructured and 2:4 with a global-threshold method: how each shot's target is shared among the matrices
    /// (`global`: one threshold over every matrix's costs, the paper's; `per_layer`: every matrix reaches the shot's
    /// target fraction, its own cheapest weights or blocks first).
    public var allocation: Allocation

    /// How a shot's target is shared among the matrices.
    public enum Allocation: String, Codable, Sendable, CaseIterable {
        case global
        case perLayer = "per_layer"
    }

    /// The sparsity after shot t of T: `s·(1 − (1 − t/T)^p)` with p = 1 (`linear`, the paper's `t·s/T`), 2 or 3
    /// (`quadratic`, `cubic`: more removed early, where structures are cheap, and smaller steps at the end,
    /// where the last ones are the most expensive; Zhu & Gupta's gradual-pruning schedule is the cubic one).
    public enum Schedule: String, Codable, Sendable, CaseIterable {
        case linear, quadratic, cubic
        var exponent: Int { self == .linear ? 1 : self == .quadratic ? 2 : 3 }
    }

    /// The one place the per-shot target is computed (`SurgeonRunner`, the simulated runner).
    public func shotTarget(_ shot: Int) -> Double {
        if shot >= shots { return sparsity }
        if schedule == .linear { return Double(shot) * sparsity / Double(shots) }
        let rest = 1 - Double(shot) / Double(shots)
        return sparsity * (1 - pow(rest, Double(schedule.exponent)))
    }
    /// Evaluate after every k-th shot (and always after the last); 1 evaluates after every shot.
    public var evalEvery: Int
    /// Coupled only: the same FFN width and KV-group count in every layer (`--uniform`), FFN neurons removed in
    /// multiples of `uniformMultiple`, so that the compact model has a standard Hugging Face config.
    public var uniform: Bool
    public var uniformMultiple: Int
    /// Bytes of memory the prune may use (`nil`: 80 % of this machine's RAM). `MemoryPlan` picks the in-memory
    /// mode when it fits and the streamed mode otherwise, and refuses a budget below its minimum.
    public var memoryBudget: Int?
    /// How the streamed mode spills calibration rows to disk (`bf16` halves the disk; `f32` is exact).
    public var spillPrecision: ActivationSpill.Precision
    /// Keep every shot's checkpoint weights (`false`: only the last finished shot's, besides the output).
    public var keepCheckpoints: Bool
    /// Storage type of the pruned model written (Hugging Face and GGUF exports).
    public var dtype: OutputDType

    /// The storage types a pruned model can be written in.
    public enum OutputDType: String, Codable, Sendable, CaseIterable {
        case f32, bf16, f16
        /// Bytes per element.
        public var bytes: Int { self == .f32 ? 4 : 2 }
        /// The safetensors storage type.
        public var storage: SafetensorsWriter.StorageType {
            switch self { case .f32: return .F32; case .bf16: return .BF16; case .f16: return .F16 }
        }
    }

    public init(model: String, structure: Structure = .structured, method: Method = .llmSurgeon,
                sparsity: Double, shots: Int = 6, calibration: String, samples: Int = 16, seqlen: Int = 512,
                seed: UInt64 = 100, dampG: Double? = nil, dampA: Double? = nil, maxCorrelate: Int = PruneRequest.defaultMaxCorrelate,
                loraRank: Int = 0, eval: String? = nil, evalWindows: Int? = nil, evalSeqlen: Int = 2048,
                structuredOrder: StructuredUpdateOrder = .sequential, loraLearningRate: Double = 1e-4, loraEpochs: Int = 5,
                loraSubset: Double = 0.025, loraTargets: LowRankTargets = .all,
                evalEvery: Int = 1, evalOffset: Int = 0, uniform: Bool = false, uniformMultiple: Int = PruneRequest.defaultUniformMultiple,
                memoryBudget: Int? = nil, spillPrecision: ActivationSpill.Precision = .bf16, keepCheckpoints: Bool = false,
                dtype: OutputDType = .f32, coupledCost: CouplingPlan.Cost = PruneRequest.defaultCoupledCost,
                biasCompensation: Bool = false, refitIterations: Int = 0, pairCost: SemiStructured.PairCost? = nil,
                schedule: Schedule = .linear, allocation: Allocation = .global) {
        self.allocation = allocation
        self.coupledCost = coupledCost; self.biasCompensation = biasCompensation; self.refitIterations = refitIterations
        self.pairCost = pairCost; self.schedule = schedule
        self.memoryBudget = memoryBudget; self.spillPrecision = spillPrecision; self.keepCheckpoints = keepCheckpoints
        self.dtype = dtype
        self.model = model; self.structure = structure; self.method = method; self.sparsity = sparsity
        self.shots = shots; self.calibration = calibration; self.samples = samples; self.seqlen = seqlen
        self.seed = seed; self.dampG = dampG; self.dampA = dampA; self.maxCorrelate = maxCorrelate
        self.loraRank = loraRank; self.eval = eval; self.evalWindows = evalWindows; self.evalSeqlen = evalSeqlen
        self.structuredOrder = structuredOrder
        self.evalEvery = evalEvery; self.evalOffset = evalOffset
        self.uniform = uniform; self.uniformMultiple = uniformMultiple
        self.loraLearningRate = loraLearningRate; self.loraEpochs = loraEpochs; self.loraSubset = loraSubset
        self.loraTargets = loraTargets
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        structure = try c.decodeIfPresent(Structure.self, forKey: .structure) ?? .structured
        method = try c.decodeIfPresent(Method.self, forKey: .method) ?? .llmSurgeon
        sparsity = try c.decode(Double.self, forKey: .sparsity)
        shots = try c.decodeIfPresent(Int.self, forKey: .shots) ?? 6
        calibration = try c.decode(String.self, forKey: .calibration)
        samples = try c.decodeIfPresent(Int.self, forKey: .samples) ?? 16
        seqlen = try c.decodeIfPresent(Int.self, forKey: .seqlen) ?? 512
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 100
        dampG = try c.decodeIfPresent(Double.self, forKey: .dampG)
        dampA = try c.decodeIfPresent(Double.self, forKey: .dampA)
        maxCorrelate = try c.decodeIfPresent(Int.self, forKey: .maxCorrelate) ?? PruneRequest.defaultMaxCorrelate
        loraRank = try c.decodeIfPresent(Int.self, forKey: .loraRank) ?? 0
        loraLearningRate = try c.decodeIfPresent(Double.self, forKey: .loraLearningRate) ?? 1e-4
        loraEpochs = try c.decodeIfPresent(Int.self, forKey: .loraEpochs) ?? 5
        loraSubset = try c.decodeIfPresent(Double.self, forKey: .loraSubset) ?? 0.025
        loraTargets = try c.decodeIfPresent(LowRankTargets.self, forKey: .loraTargets) ?? .all
        eval = try c.decodeIfPresent(String.self, forKey: .eval)
        evalWindows = try c.decodeIfPresent(Int.self, forKey: .evalWindows)
        evalSeqlen = try c.decodeIfPresent(Int.self, forKey: .evalSeqlen) ?? 2048
        structuredOrder = try c.decodeIfPresent(StructuredUpdateOrder.self, forKey: .structuredOrder) ?? .sequential
        evalEvery = try c.decodeIfPresent(Int.self, forKey: .evalEvery) ?? 1
        evalOffset = try c.decodeIfPresent(Int.self, forKey: .evalOffset) ?? 0
        uniform = try c.decodeIfPresent(Bool.self, forKey: .uniform) ?? false
        uniformMultiple = try c.decodeIfPresent(Int.self, forKey: .uniformMultiple) ?? PruneRequest.defaultUniformMultiple
        memoryBudget = try c.decodeIfPresent(Int.self, forKey: .memoryBudget)
        spillPrecision = try c.decodeIfPresent(ActivationSpill.Precision.self, forKey: .spillPrecision) ?? .bf16
        keepCheckpoints = try c.decodeIfPresent(Bool.self, forKey: .keepCheckpoints) ?? false
        dtype = try c.decodeIfPresent(OutputDType.self, forKey: .dtype) ?? .f32
        coupledCost = try c.decodeIfPresent(CouplingPlan.Cost.self, forKey: .coupledCost) ?? PruneRequest.defaultCoupledCost
        biasCompensation = try c.decodeIfPresent(Bool.self, forKey: .biasCompensation) ?? false
        refitIterations = try c.decodeIfPresent(Int.self, forKey: .refitIterations) ?? 0
        pairCost = try c.decodeIfPresent(SemiStructured.PairCost.self, forKey: .pairCost)
        schedule = try c.decodeIfPresent(Schedule.self, forKey: .schedule) ?? .linear
        allocation = try c.decodeIfPresent(Allocation.self, forKey: .allocation) ?? .global
    }

    /// Weights per correlated chunk of unstructured and 2:4 LLM Surgeon. The reference scripts use 2,000; the
    /// update's cost grows with the square of the chunk, and 500 keeps a 5-shot 50 % job within 15 minutes on
    /// 2 cores (docs/quality.md) while beating SparseGPT and Wanda on the dev split.
    public static let defaultMaxCorrelate = 500
    /// `--uniform`: FFN neurons removed in multiples of this (tensor-core and SIMD friendly widths).
    public static let defaultUniformMultiple = 8
    /// Coupled structures' scoring (docs/quality.md).
    public static let defaultCoupledCost = CouplingPlan.Cost.outputs
    /// 2:4 LLM Surgeon's block cost (docs/quality.md).
    public static let defaultPairCost = SemiStructured.PairCost.sum

    /// The JSON field names a request accepts (a sweep grid checks its keys against them).
    public static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case model, structure, method, sparsity, shots, calibration, samples, seqlen, seed
        case dampG = "damp_g", dampA = "damp_a", maxCorrelate = "max_correlate", loraRank = "lora_rank"
        case eval, evalWindows = "eval_windows", evalSeqlen = "eval_seqlen", structuredOrder = "update_order", evalEvery = "eval_every"
        case evalOffset = "eval_offset", uniform, uniformMultiple = "uniform_multiple"
        case memoryBudget = "memory_budget", spillPrecision = "spill_precision", keepCheckpoints = "keep_checkpoints", dtype
        case coupledCost = "coupled_cost", biasCompensation = "bias_compensation"
        case refitIterations = "refit_iterations", pairCost = "pair_cost", schedule, allocation
        case loraLearningRate = "lora_lr", loraEpochs = "lora_epochs", loraSubset = "lora_subset", loraTargets = "lora_targets"
    }
}
