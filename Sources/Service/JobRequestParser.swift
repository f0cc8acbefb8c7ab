import Checkpoint
import Pruning

/// Turns a `POST /v1/jobs` body into a `PruneRequest`, collecting every field of the wrong JSON type as a
/// JSON-Pointer error instead of stopping at the first. Values are checked by `PruneRequest.validate`
/// (`fieldErrors`), the same check `surgeon prune` runs, with the same limits and messages.
struct JobRequestParser {
    static let known: Set<String> = ["model", "calibration", "eval", "structure", "method", "sparsity", "shots", "samples",
                                     "seqlen", "seed", "damp_g", "damp_a", "max_correlate", "lora_rank", "eval_windows", "eval_seqlen",
                                     "update_order", "eval_offset", "uniform", "uniform_multiple",
                                     "memory_budget", "spill_precision", "keep_checkpoints", "dtype", "coupled_cost", "bias_compensation",
                                     "refit_iterations", "pair_cost", "schedule", "allocation"]

    var errors: [Problem.FieldError] = []

    mutating func parse(_ body: [String: JSONValue]) -> PruneRequest? {
        for key in body.keys.sorted() where !Self.known.contains(key) { errors.append(.init("/\(key)", "unknown field")) }
        let model = name(body, "model", required: true)
        let calibration = name(body, "calibration", required: false)
        let eval = name(body, "eval", required: false)
        let structure = enumValue(body, "structure", PruneRequest.Structure.self) ?? .structured
        let method = enumValue(body, "method", PruneRequest.Method.self) ?? .llmSurgeon
        let sparsity = number(body, "sparsity", required: true)
        let shots = int(body, "shots") ?? 6
        let samples = int(body, "samples") ?? 16
        let seqlen = int(body, "seqlen") ?? 512
        let seed = int(body, "seed") ?? 100
        if seed < 0 {  // a PruneRequest's seed is unsigned: report it as validation would
            let r = PruneRequest.Limits.seed
            errors.append(.init("/seed", "must be an integer in \(r.lowerBound)...\(r.upperBound), got \(seed)"))
        }
        let dampG = number(body, "damp_g", required: false)
        let dampA = number(body, "damp_a", required: false)
        let maxCorrelate = int(body, "max_correlate") ?? PruneRequest.defaultMaxCorrelate
        let loraRank = int(body, "lora_rank") ?? 0
        let evalWindows = int(body, "eval_windows")
        let evalSeqlen = int(body, "eval_seqlen") ?? 2048
        let order = enumValue(body, "update_order", StructuredUpdateOrder.self) ?? .sequential
        let evalOffset = int(body, "eval_offset") ?? 0
        let uniform = bool(body, "uniform") ?? false
        let uniformMultiple = int(body, "uniform_multiple") ?? PruneRequest.defaultUniformMultiple
        let memoryBudget = int(body, "memory_budget")
        let spill = enumValue(body, "spill_precision", ActivationSpill.Precision.self) ?? .bf16
        let keepCheckpoints = bool(body, "keep_checkpoints") ?? false
        let dtype = enumValue(body, "dtype", PruneRequest.OutputDType.self) ?? .f32
        let coupledCost = enumValue(body, "coupled_cost", CouplingPlan.Cost.self) ?? PruneRequest.defaultCoupledCost
        let biasCompensation = bool(body, "bias_compensation") ?? false
        let refitIterations = int(body, "refit_iterations") ?? 0
        let pairCost = enumValue(body, "pair_cost", SemiStructured.PairCost.self)
        let schedule = enumValue(body, "schedule", PruneRequest.Schedule.self) ?? .linear
        let allocation = enumValue(body, "allocation", PruneRequest.Allocation.self) ?? .global
        // Built even when some fields were of the wrong type (those take their defaults), so that the values of
        // the others are validated too and every bad field is reported at once (`validationErrors`).
        candidate = PruneRequest(model: model ?? "", structure: structure, method: method, sparsity: sparsity ?? 0.5, shots: shots,
                                 calibration: calibration ?? "", samples: samples, seqlen: seqlen, seed: UInt64(max(0, seed)),
                                 dampG: dampG, dampA: dampA, maxCorrelate: maxCorrelate, loraRank: loraRank, eval: eval,
                                 evalWindows: evalWindows, evalSeqlen: evalSeqlen, structuredOrder: order,
                                 evalOffset: evalOffset, uniform: uniform, uniformMultiple: uniformMultiple,
                                 memoryBudget: memoryBudget, spillPrecision: spill, keepCheckpoints: keepCheckpoints, dtype: dtype,
                                 coupledCost: coupledCost, biasCompensation: biasCompensation,
                                 refitIterations: refitIterations, pairCost: pairCost, schedule: schedule,
                                 allocation: allocation)
        return errors.isEmpty ? candidate : nil
    }

    /// The request as parsed, with defaults in place of fields of the wrong type (`nil` before `parse`).
    private(set) var candidate: PruneRequest?

    /// The one validation (`PruneRequest.fieldErrors`, as `surgeon prune` runs it) of the parsed values, for the
    /// fields the parser has not already refused.
    func validationErrors() -> [Problem.FieldError] {
        guard let candidate else { return [] }
        let refused = Set(errors.map(\.pointer))
        return Self.fieldErrors(candidate.fieldErrors()).filter { !refused.contains($0.pointer) }
    }

    /// The one validation of a request (`PruneRequest`'s, which the CLI runs too) as field errors: each
    /// `field: detail` message becomes pointer `/field` with the same detail text.
    static func fieldErrors(_ messages: [String]) -> [Problem.FieldError] {
        messages.map { message in
            let field = message.prefix { $0 != ":" }
            let detail = message.dropFirst(field.count).drop { $0 == ":" || $0 == " " }
            return .init("/\(field)", String(detail))
        }
    }

    /// `PruneRequest.validate(against:)` as field errors.
    static func fieldErrors(_ request: PruneRequest, against config: ModelConfig) -> [Problem.FieldError] {
        do { try request.validate(against: config) } catch let invalid as PruneRequest.Invalid {
            return fieldErrors(invalid.errors)
        } catch { return [.init("", String(describing: error))] }
        return []
    }

    private mutating func name(_ body: [String: JSONValue], _ key: String, required: Bool) -> String? {
        guard let v = body[key], v != .null else {
            if required { errors.append(.init("/\(key)", "required: the name of an uploaded or registered file")) }
            return nil
        }
        guard let s = v.string else { errors.append(.init("/\(key)", "must be a string")); return nil }
        guard NameRules.isValid(s) else { errors.append(.init("/\(key)", "\(s) is not a valid name")); return nil }
        return s
    }

    private mutating func enumValue<E: RawRepresentable & CaseIterable>(_ body: [String: JSONValue], _ key: String, _: E.Type) -> E?
    where E.RawValue == String {
        guard let v = body[key], v != .null else { return nil }
        guard let s = v.string, let e = E(rawValue: s) else {
            errors.append(.init("/\(key)", "must be one of \(E.allCases.map(\.rawValue).joined(separator: ", "))"))
            return nil
        }
        return e
    }

    /// A JSON number (its range is `PruneRequest.validate`'s).
    private mutating func number(_ body: [String: JSONValue], _ key: String, required: Bool) -> Double? {
        guard let v = body[key], v != .null else {
            if required { errors.append(.init("/\(key)", "required: a number")) }
            return nil
        }
        guard let d = v.number else { errors.append(.init("/\(key)", "must be a number")); return nil }
        return d
    }

    private mutating func bool(_ body: [String: JSONValue], _ key: String) -> Bool? {
        guard let v = body[key], v != .null else { return nil }
        guard let b = v.bool else { errors.append(.init("/\(key)", "must be true or false")); return nil }
        return b
    }

    /// A JSON integer (its range is `PruneRequest.validate`'s).
    private mutating func int(_ body: [String: JSONValue], _ key: String) -> Int? {
        guard let v = body[key], v != .null else { return nil }
        guard let i = v.int else { errors.append(.init("/\(key)", "must be an integer")); return nil }
        return i
    }
}
