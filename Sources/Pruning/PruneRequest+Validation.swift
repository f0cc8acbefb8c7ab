import Checkpoint
import Foundation

extension PruneRequest {
    /// A request that cannot run, found before any work starts.
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        /// One message per bad field, `field: what is wrong` (`field` is the snake_case JSON name).
        public var errors: [String]
        public var description: String { "invalid prune request: " + errors.joined(separator: "; ") }
        public init(errors: [String]) { self.errors = errors }
    }

    /// The one set of limits of a request's fields: `validate` checks them for `surgeon prune` / `plan`, for
    /// `POST /v1/jobs` (whose parser only checks JSON types) and for the runner; openapi.yaml states the same.
    public enum Limits {
        public static let shots = 1...64
        public static let samples = 1...4096
        public static let seqlen = 8...32768
        public static let evalSeqlen = 8...32768
        public static let seed: ClosedRange<UInt64> = 0...UInt64(Int32.max)
        /// `damp_g`, `damp_a`: relative damping.
        public static let damping = 0.0...1e6
        /// 0: one chunk per layer.
        public static let maxCorrelate = 0...1_000_000
        public static let loraRank = 0...64
        public static let loraEpochs = 0...1000
        public static let evalWindows = 1...100_000
        public static let evalOffset = 0...1_000_000_000
        public static let evalEvery = 1...64
        public static let uniformMultiple = 1...4096
        public static let memoryBudget = (1 << 20)...(1 << 50)
        public static let refitIterations = 0...1000
    }

    /// Checks every field that can be checked without the model (and, with `checkFiles`, that the files
    /// exist); throws `Invalid` listing all problems. The CLI and the service call this same check before a
    /// run is accepted; `validate(against:)` adds what the model's header decides.
    public func validate(checkFiles: Bool = true) throws {
        var errors = fieldErrors()
        if checkFiles { errors += fileErrors() }
        if !errors.isEmpty { throw Invalid(errors: errors) }
    }

    /// The checks of the model's header (its config, read without the weights; the service reads it at
    /// submission): coupled pruning needs a Llama-family model.
    public func validate(against config: ModelConfig) throws {
        var errors: [String] = []
        if structure == .coupled && !config.architecture.isLlamaLike {
            errors.append("structure: coupled pruning removes whole neurons and heads of Llama-family models, not \(config.architecture.rawValue)")
        }
        if biasCompensation && config.architecture != .llama {
            errors.append("bias_compensation: adds o_proj and down_proj biases, which only Llama's config (attention_bias, mlp_bias) and llama.cpp's llama architecture carry, not \(config.architecture.rawValue)")
        }
        if !errors.isEmpty { throw Invalid(errors: errors) }
    }

    /// `field: what is wrong` for every field outside `Limits` or contradicting another.
    public func fieldErrors() -> [String] {
        var errors: [String] = []
        func check<T: Comparable>(_ field: String, _ value: T, _ range: ClosedRange<T>, integer: Bool = true) {
            if !range.contains(value) {
                errors.append("\(field): must be \(integer ? "an integer" : "a number") in \(range.lowerBound)...\(range.upperBound), got \(value)")
            }
        }
        if !(sparsity > 0 && sparsity < 1) { errors.append("sparsity: must be a number in (0, 1), got \(sparsity)") }
        check("shots", shots, Limits.shots)
        check("samples", samples, Limits.samples)
        check("seqlen", seqlen, Limits.seqlen)
        check("seed", seed, Limits.seed)
        for (field, d) in [("damp_g", dampG), ("damp_a", dampA)] {
            if let d, !(d.isFinite && Limits.damping.contains(d)) {
                errors.append("\(field): must be a number in \(Limits.damping.lowerBound)...\(Limits.damping.upperBound), got \(d)")
            }
        }
        check("max_correlate", maxCorrelate, Limits.maxCorrelate)
        check("lora_rank", loraRank, Limits.loraRank)
        if !(loraLearningRate > 0 && loraLearningRate.isFinite) { errors.append("lora_lr: must be a finite number > 0, got \(loraLearningRate)") }
        check("lora_epochs", loraEpochs, Limits.loraEpochs)
        if !(loraSubset > 0 && loraSubset <= 1) { errors.append("lora_subset: must be a number in (0, 1], got \(loraSubset)") }
        if let w = evalWindows { check("eval_windows", w, Limits.evalWindows) }
        if evalWindows != nil && eval == nil { errors.append("eval_windows: needs eval (a text to evaluate on)") }
        check("eval_seqlen", evalSeqlen, Limits.evalSeqlen)
        check("eval_offset", evalOffset, Limits.evalOffset)
        check("eval_every", evalEvery, Limits.evalEvery)
        if let b = memoryBudget, !Limits.memoryBudget.contains(b) {
            errors.append("memory_budget: must be \(Limits.memoryBudget.lowerBound)...\(Limits.memoryBudget.upperBound) bytes (1 MiB to 1 PiB), got \(b)")
        }
        switch (method, structure) {
        case (.wanda, .structured), (.wanda, .coupled), (.sparsegpt, .structured), (.sparsegpt, .coupled):
            errors.append("method: \(method.rawValue) is defined for unstructured and 2:4 pruning only, not \(structure.rawValue)")
        default: break
        }
        if uniform && structure != .coupled {
            errors.append("uniform: equal per-layer widths apply to coupled structured pruning (whole neurons and heads), not \(structure.rawValue); use structure coupled")
        }
        check("uniform_multiple", uniformMultiple, Limits.uniformMultiple)
        if biasCompensation && (structure != .coupled || method != .llmSurgeon) {
            errors.append("bias_compensation: the OBS update of coupled llm-surgeon pruning writes the compensating biases; it does not apply to \(structure.rawValue) \(method.rawValue)")
        }
        check("refit_iterations", refitIterations, Limits.refitIterations)
        if refitIterations > 0 && (method != .llmSurgeon || structure == .coupled) {
            errors.append(structure == .coupled && method == .llmSurgeon
                ? "refit_iterations: a coupled structure leaves each matrix only rows or only columns to remove, for which the OBS update is already the minimum the refit seeks; use it with structured, unstructured or 2:4"
                : "refit_iterations: refits the weights that llm-surgeon's OBS update keeps; it does not apply to \(method.rawValue)")
        }
        if pairCost == .joint && (structure != .semi24 || method != .llmSurgeon) {
            errors.append("pair_cost: joint scores 2:4 blocks with llm-surgeon's inverse factors; it does not apply to \(structure.rawValue) \(method.rawValue)")
        }
        if allocation == .perLayer && (structure == .structured || structure == .coupled || method == .wanda || method == .sparsegpt) {
            errors.append(structure == .structured || structure == .coupled
                ? "allocation: per_layer shares unstructured and 2:4 shots among the matrices; it does not apply to \(structure.rawValue)"
                : "allocation: \(method.rawValue) already prunes every matrix to the same fraction; per_layer applies to llm-surgeon, kobd, lobd and magnitude")
        }
        if structure == .semi24 && abs(sparsity - 0.5) > 1e-9 && sparsity > 0 && sparsity < 1 {
            errors.append("sparsity: 2:4 pruning removes exactly half of the weights; use 0.5, got \(sparsity)")
        }
        return errors
    }

    /// `field: …` for each input file that is not there (the service's inputs are its own stored files).
    public func fileErrors() -> [String] {
        var errors: [String] = []
        let fm = FileManager.default
        if !fm.fileExists(atPath: model) { errors.append("model: no file or directory at \(model)") }
        if !fm.isReadableFile(atPath: calibration) { errors.append("calibration: cannot read \(calibration)") }
        if let eval, !fm.isReadableFile(atPath: eval) { errors.append("eval: cannot read \(eval)") }
        return errors
    }
}
