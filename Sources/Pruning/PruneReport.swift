/// What a finished prune reports (`report.json`): achieved sparsity, sizes, perplexities, timings.
public struct PruneReport: Codable, Sendable, Equatable {
    /// Achieved sparsity of one prunable matrix.
    public struct Layer: Codable, Sendable, Equatable {
        public var name: String
        public var parameters: Int
        public var zeros: Int
        public var sparsity: Double
        public init(name: String, parameters: Int, zeros: Int) {
            self.name = name; self.parameters = parameters; self.zeros = zeros
            self.sparsity = parameters == 0 ? 0 : Double(zeros) / Double(parameters)
        }
    }

    /// One shot's outcome.
    public struct Shot: Codable, Sendable, Equatable {
        public var shot: Int
        public var targetSparsity: Double
        public var achievedSparsity: Double
        public var perplexity: Double?
        public var seconds: [String: Double]
        /// Mean calibration loss of the model this shot started from (measured by its curvature pass).
        public var calibrationLoss: Double?
        /// Structured K-FAC methods: the calibration-loss increase the undamped K-FAC quadratic model predicts
        /// for the change this shot applied, and the sum of the OBS costs of the structures it selected
        /// (both scaled to calibration-loss units by `seqlen·(seqlen−1)`). Compare with the next shot's
        /// `calibration_loss` minus this one's: the increase it caused.
        public var predictedIncrease: Double?
        public var selectedCost: Double?
        /// With `refit_iterations`: the damped quadratic of the shot's change before and after the refit of the
        /// kept weights (calibration-loss units, summed over layers).
        public var refitBefore: Double?
        public var refitAfter: Double?
        public init(shot: Int, targetSparsity: Double, achievedSparsity: Double, perplexity: Double?, seconds: [String: Double],
                    calibrationLoss: Double? = nil, predictedIncrease: Double? = nil, selectedCost: Double? = nil,
                    refitBefore: Double? = nil, refitAfter: Double? = nil) {
            self.refitBefore = refitBefore; self.refitAfter = refitAfter
            self.shot = shot; self.targetSparsity = targetSparsity; self.achievedSparsity = achievedSparsity
            self.perplexity = perplexity; self.seconds = seconds
            self.calibrationLoss = calibrationLoss; self.predictedIncrease = predictedIncrease; self.selectedCost = selectedCost
        }
        enum CodingKeys: String, CodingKey {
            case shot, perplexity, seconds
            case targetSparsity = "target_sparsity", achievedSparsity = "achieved_sparsity"
            case calibrationLoss = "calibration_loss", predictedIncrease = "predicted_increase", selectedCost = "selected_cost"
            case refitBefore = "refit_quadratic_before", refitAfter = "refit_quadratic_after"
        }

        /// The measured figures (`perplexity`, losses, costs) are written as `null` when not finite (a diverged
        /// prune), absent when not measured.
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(shot, forKey: .shot); try c.encode(targetSparsity, forKey: .targetSparsity)
            try c.encode(achievedSparsity, forKey: .achievedSparsity); try c.encodeMeasured(perplexity, forKey: .perplexity)
            try c.encode(seconds, forKey: .seconds); try c.encodeMeasured(calibrationLoss, forKey: .calibrationLoss)
            try c.encodeMeasured(predictedIncrease, forKey: .predictedIncrease); try c.encodeMeasured(selectedCost, forKey: .selectedCost)
            try c.encodeMeasured(refitBefore, forKey: .refitBefore); try c.encodeMeasured(refitAfter, forKey: .refitAfter)
        }
    }

    public var request: PruneRequest
    public var prunableParameters: Int
    public var removedParameters: Int
    public var achievedSparsity: Double
    public var parametersBefore: Int
    public var parametersAfter: Int
    public var perplexityBefore: Double?
    public var perplexityAfter: Double?
    /// The evaluation protocol in words (dataset, seqlen, windows, tokens).
    public var evaluation: String?
    public var layers: [Layer]
    public var shots: [Shot]
    public var seconds: [String: Double]
    public var peakRSSBytes: Int?
    /// Output files, relative to the output directory.
    public var artifacts: [String]
    /// The settings the run actually used where the request left them to defaults, and where the defaults come from.
    public var effective: EffectiveSettings? = nil
    /// The memory plan the run followed and the peak resident bytes measured per phase.
    public var memory: Memory? = nil

    /// `report.json` → `memory`.
    public struct Memory: Codable, Sendable, Equatable {
        public var plan: MemoryPlan
        /// Peak resident bytes per runner phase (`load`, `curvature`, `prune`, `eval`, `save`, …).
        public var measuredPeakBytes: [String: Int]
        public init(plan: MemoryPlan, measured: [String: Int]) { self.plan = plan; measuredPeakBytes = measured }
        enum CodingKeys: String, CodingKey { case plan, measuredPeakBytes = "measured_peak_bytes" }
    }
    /// Mean calibration loss of the pruned model (the last shot's increase is this minus its `calibration_loss`).
    public var calibrationLossAfter: Double? = nil
    /// The zero fraction of the input model's prunable weights before any shot. Quantised checkpoints hold
    /// exact zeros (Gemma 3 270M's Q4_K_M: 4.5 %), which `achieved_sparsity` counts with the pruned ones;
    /// rows/columns and coupled targets count whole structures, so there `achieved_sparsity` exceeds the target
    /// by the zeros outside the removed structures.
    public var sparsityBefore: Double? = nil
    /// A run on several MPI ranks (issue 13); absent for one process.
    public var distributed: Distributed? = nil

    public struct Distributed: Codable, Sendable, Equatable {
        public var ranks: Int
        /// Calibration sequences each rank ran forward and backward, per shot.
        public var sequencesPerRank: [Int]
        /// Seconds per phase per rank (`curvature`, `prune`, `prune.exchange`, `eval`), summed over this run's shots.
        public var secondsPerRank: [[String: Double]]
        /// Payload bytes each rank sent, per shot of this run: `[shot][rank]`.
        public var bytesSentPerShot: [[Int]]
        public init(ranks: Int, sequencesPerRank: [Int], secondsPerRank: [[String: Double]], bytesSentPerShot: [[Int]]) {
            self.ranks = ranks; self.sequencesPerRank = sequencesPerRank; self.secondsPerRank = secondsPerRank
            self.bytesSentPerShot = bytesSentPerShot
        }
        enum CodingKeys: String, CodingKey {
            case ranks, sequencesPerRank = "sequences_per_rank", secondsPerRank = "seconds_per_rank", bytesSentPerShot = "bytes_sent_per_shot"
        }
    }

    public init(request: PruneRequest, prunableParameters: Int, removedParameters: Int, parametersBefore: Int,
                parametersAfter: Int, perplexityBefore: Double?, perplexityAfter: Double?, evaluation: String?,
                layers: [Layer], shots: [Shot], seconds: [String: Double], peakRSSBytes: Int?, artifacts: [String]) {
        self.request = request; self.prunableParameters = prunableParameters; self.removedParameters = removedParameters
        self.achievedSparsity = prunableParameters == 0 ? 0 : Double(removedParameters) / Double(prunableParameters)
        self.parametersBefore = parametersBefore; self.parametersAfter = parametersAfter
        self.perplexityBefore = perplexityBefore; self.perplexityAfter = perplexityAfter; self.evaluation = evaluation
        self.layers = layers; self.shots = shots; self.seconds = seconds; self.peakRSSBytes = peakRSSBytes
        self.artifacts = artifacts
    }

    enum CodingKeys: String, CodingKey {
        case request, layers, shots, seconds, artifacts, evaluation
        case prunableParameters = "prunable_parameters", removedParameters = "removed_parameters"
        case achievedSparsity = "achieved_sparsity", parametersBefore = "parameters_before"
        case parametersAfter = "parameters_after", perplexityBefore = "perplexity_before"
        case perplexityAfter = "perplexity_after", peakRSSBytes = "peak_rss_bytes"
        case calibrationLossAfter = "calibration_loss_after", effective, memory, sparsityBefore = "sparsity_before"
        case distributed
    }

    /// Perplexities and losses that are not finite (NaN or infinity: a prune that diverged) are written as
    /// `null`, which JSON can hold and a JSON encoder accepts; a figure that was not measured is absent.
    /// Decoding reads `null` back as `nil`.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(request, forKey: .request); try c.encode(prunableParameters, forKey: .prunableParameters)
        try c.encode(removedParameters, forKey: .removedParameters); try c.encode(achievedSparsity, forKey: .achievedSparsity)
        try c.encode(parametersBefore, forKey: .parametersBefore); try c.encode(parametersAfter, forKey: .parametersAfter)
        try c.encodeMeasured(perplexityBefore, forKey: .perplexityBefore); try c.encodeMeasured(perplexityAfter, forKey: .perplexityAfter)
        try c.encodeIfPresent(evaluation, forKey: .evaluation); try c.encode(layers, forKey: .layers)
        try c.encode(shots, forKey: .shots); try c.encode(seconds, forKey: .seconds)
        try c.encodeIfPresent(peakRSSBytes, forKey: .peakRSSBytes); try c.encode(artifacts, forKey: .artifacts)
        try c.encodeIfPresent(effective, forKey: .effective); try c.encodeIfPresent(memory, forKey: .memory)
        try c.encodeMeasured(calibrationLossAfter, forKey: .calibrationLossAfter)
        try c.encodeMeasured(sparsityBefore, forKey: .sparsityBefore)
        try c.encodeIfPresent(distributed, forKey: .distributed)
    }
}

extension KeyedEncodingContainer {
    /// A measured figure: absent when `nil`, `null` when not finite (JSON has no NaN or infinity), else the number.
    mutating func encodeMeasured(_ value: Double?, forKey key: Key) throws {
        guard let value else { return }
        if value.isFinite { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
}

/// What a prune ran with after defaults were filled in (`report.json` → `effective`).
public struct EffectiveSettings: Codable, Sendable, Equatable {
    public var dampG: Double
    public var dampA: Double
    public var updateOrder: StructuredUpdateOrder
    /// Weights per correlated chunk (unstructured and 2:4 LLM Surgeon only; nil otherwise).
    public var maxCorrelate: Int?
    /// Where the damping came from: the request, or the measured default of this structure.
    public var source: String
    /// Coupled only: which member matrices were scored and updated, and whether o/down biases compensated.
    public var coupledCost: CouplingPlan.Cost?
    public var biasCompensation: Bool?
    /// LLM Surgeon: conjugate-gradient steps of the refit on each shot's mask (0: none; nil where it cannot run).
    public var refitIterations: Int?
    /// 2:4 LLM Surgeon only: how blocks were scored.
    public var pairCost: SemiStructured.PairCost?
    /// Unstructured and 2:4 with a global-threshold method: how each shot's target was shared among the matrices.
    public var allocation: PruneRequest.Allocation?

    public init(request: PruneRequest) {
        let d = ShotOptions.defaultDamping(request.structure)
        dampG = request.dampG ?? d.g
        dampA = request.dampA ?? d.a
        updateOrder = request.structuredOrder
        maxCorrelate = request.method == .llmSurgeon && (request.structure == .unstructured || request.structure == .semi24)
            ? request.maxCorrelate : nil
        source = request.dampG != nil && request.dampA != nil ? "request"
            : "default for \(request.structure.rawValue): \(ShotOptions.defaultDampingSource(request.structure))"
        coupledCost = request.structure == .coupled ? request.coupledCost : nil
        biasCompensation = request.structure == .coupled ? request.biasCompensation : nil
        refitIterations = request.method == .llmSurgeon && request.structure != .coupled ? request.refitIterations : nil
        pairCost = request.method == .llmSurgeon && request.structure == .semi24 ? request.pairCost ?? PruneRequest.defaultPairCost : nil
        allocation = (request.structure == .unstructured || request.structure == .semi24)
            && request.method != .wanda && request.method != .sparsegpt ? request.allocation : nil
    }

    enum CodingKeys: String, CodingKey {
        case dampG = "damp_g", dampA = "damp_a", updateOrder = "update_order", maxCorrelate = "max_correlate", source
        case coupledCost = "coupled_cost", biasCompensation = "bias_compensation"
        case refitIterations = "refit_iterations", pairCost = "pair_cost", allocation
    }
}
