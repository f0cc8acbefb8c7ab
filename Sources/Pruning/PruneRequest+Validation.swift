import Foundation

extension PruneRequest {
    /// A request that cannot run, found before any work starts.
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        /// One message per bad field, `field: what is wrong`.
        public var errors: [String]
        public var description: String { "invalid prune request: " + errors.joined(separator: "; ") }
    }

    /// Checks every field that can be checked without loading the model; throws `Invalid` listing all problems.
    public func validate(checkFiles: Bool = true) throws {
        var errors: [String] = []
        if !(sparsity > 0 && sparsity < 1) { errors.append("sparsity: must be in (0, 1), got \(sparsity)") }
        if shots < 1 { errors.append("shots: must be at least 1, got \(shots)") }
        if shots > 1000 { errors.append("shots: at most 1000, got \(shots)") }
        if samples < 1 { errors.append("samples: must be at least 1, got \(samples)") }
        if seqlen < 2 { errors.append("seqlen: must be at least 2, got \(seqlen)") }
        if let d = dampG, !(d >= 0 && d.isFinite) { errors.append("damp_g: must be a finite number ≥ 0, got \(d)") }
        if let d = dampA, !(d >= 0 && d.isFinite) { errors.append("damp_a: must be a finite number ≥ 0, got \(d)") }
        if maxCorrelate < 0 { errors.append("max_correlate: must be ≥ 0, got \(maxCorrelate)") }
        if loraRank < 0 { errors.append("lora_rank: must be ≥ 0, got \(loraRank)") }
        if !(loraLearningRate > 0 && loraLearningRate.isFinite) { errors.append("lora_lr: must be a finite number > 0, got \(loraLearningRate)") }
        if loraEpochs < 0 { errors.append("lora_epochs: must be ≥ 0, got \(loraEpochs)") }
        if !(loraSubset > 0 && loraSubset <= 1) { errors.append("lora_subset: must be in (0, 1], got \(loraSubset)") }
        if let w = evalWindows, w < 1 { errors.append("eval_windows: must be at least 1, got \(w)") }
        if evalOffset < 0 { errors.append("eval_offset: must be ≥ 0, got \(evalOffset)") }
        if evalEvery < 1 { errors.append("eval_every: must be at least 1, got \(evalEvery)") }
        if let b = memoryBudget, b < 1 << 20 { errors.append("memory_budget: must be at least 1 MiB, got \(b) bytes") }
        if evalSeqlen < 2 { errors.append("eval_seqlen: must be at least 2, got \(evalSeqlen)") }
        switch (method, structure) {
        case (.wanda, .structured), (.wanda, .coupled), (.sparsegpt, .structured), (.sparsegpt, .coupled):
            errors.append("method: \(method.rawValue) is defined for unstructured and 2:4 pruning only, not \(structure.rawValue)")
        default: break
        }
        if uniform && structure != .coupled {
            errors.append("uniform: equal per-layer widths apply to coupled structured pruning (whole neurons and heads), not \(structure.rawValue); use structure coupled")
        }
        if uniformMultiple < 1 { errors.append("uniform_multiple: must be at least 1, got \(uniformMultiple)") }
        if structure == .semi24 && abs(sparsity - 0.5) > 1e-9 {
            errors.append("sparsity: 2:4 pruning removes exactly half of the weights; use 0.5, got \(sparsity)")
        }
        if checkFiles {
            let fm = FileManager.default
            if !fm.fileExists(atPath: model) { errors.append("model: no file or directory at \(model)") }
            if !fm.isReadableFile(atPath: calibration) { errors.append("calibration: cannot read \(calibration)") }
            if let eval, !fm.isReadableFile(atPath: eval) { errors.append("eval: cannot read \(eval)") }
        }
        if !errors.isEmpty { throw Invalid(errors: errors) }
    }
}
