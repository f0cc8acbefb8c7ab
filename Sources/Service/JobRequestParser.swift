import Pruning

/// Turns a `POST /v1/jobs` body into a `PruneRequest`, collecting every invalid field as a
/// JSON-Pointer error instead of stopping at the first.
struct JobRequestParser {
    static let known: Set<String> = ["model", "calibration", "eval", "structure", "method", "sparsity", "shots", "samples",
                                     "seqlen", "seed", "damp_g", "damp_a", "max_correlate", "lora_rank", "eval_windows", "eval_seqlen",
                                     "update_order", "eval_offset", "uniform", "uniform_multiple",
                                     "memory_budget", "spill_precision", "keep_checkpoints", "dtype"]

    var errors: [Problem.FieldError] = []

    mutating func parse(_ body: [String: JSONValue]) -> PruneRequest? {
        for key in body.keys.sorted() where !Self.known.contains(key) { errors.append(.init("/\(key)", "unknown field")) }
        let model = name(body, "model", required: true)
        let calibration = name(body, "calibration", required: false)
        let eval = name(body, "eval", required: false)
        let structure = enumValue(body, "structure", PruneRequest.Structure.self) ?? .structured
        let method = enumValue(body, "method", PruneRequest.Method.self) ?? .llmSurgeon
        let sparsity = number(body, "sparsity", required: true, open: 0...1)
        let shots = int(body, "shots", 1...64) ?? 6
        let samples = int(body, "samples", 1...4096) ?? 16
        let seqlen = int(body, "seqlen", 8...32768) ?? 512
        let seed = int(body, "seed", 0...Int(Int32.max)) ?? 100
        let dampG = number(body, "damp_g", required: false, open: 0...1e6)
        let dampA = number(body, "damp_a", required: false, open: 0...1e6)
        let maxCorrelate = int(body, "max_correlate", 1...1_000_000) ?? PruneRequest.defaultMaxCorrelate
        let loraRank = int(body, "lora_rank", 0...64) ?? 0
        let evalWindows = int(body, "eval_windows", 1...100_000)
        let evalSeqlen = int(body, "eval_seqlen", 8...32768) ?? 2048
        let order = enumValue(body, "update_order", StructuredUpdateOrder.self) ?? .sequential
        let evalOffset = int(body, "eval_offset", 0...1_000_000_000) ?? 0
        let uniform = bool(body, "uniform") ?? false
        let uniformMultiple = int(body, "uniform_multiple", 1...4096) ?? PruneRequest.defaultUniformMultiple
        let memoryBudget = int(body, "memory_budget", (1 << 20)...(1 << 50))
        let spill = enumValue(body, "spill_precision", ActivationSpill.Precision.self) ?? .bf16
        let keepCheckpoints = bool(body, "keep_checkpoints") ?? false
        let dtype = enumValue(body, "dtype", PruneRequest.OutputDType.self) ?? .f32
        if evalWindows != nil && eval == nil { errors.append(.init("/eval_windows", "needs eval (a text name)")) }
        guard errors.isEmpty, let model, let sparsity else { return nil }
        return PruneRequest(model: model, structure: structure, method: method, sparsity: sparsity, shots: shots,
                            calibration: calibration ?? "", samples: samples, seqlen: seqlen, seed: UInt64(seed),
                            dampG: dampG, dampA: dampA, maxCorrelate: maxCorrelate, loraRank: loraRank, eval: eval,
                            evalWindows: evalWindows, evalSeqlen: evalSeqlen, structuredOrder: order,
                            evalOffset: evalOffset, uniform: uniform, uniformMultiple: uniformMultiple,
                            memoryBudget: memoryBudget, spillPrecision: spill, keepCheckpoints: keepCheckpoints, dtype: dtype)
    }

    /// The runner's own rules (`PruneRequest.validate`), as field errors: each message starts with
    /// the snake_case field name. Run on the resolved request, so file checks see server paths.
    static func runnerErrors(_ request: PruneRequest) -> [Problem.FieldError] {
        do { try request.validate(checkFiles: true) } catch let invalid as PruneRequest.Invalid {
            return invalid.errors.map { message in
                let field = message.prefix { $0 != ":" }
                let detail = message.dropFirst(field.count).drop { $0 == ":" || $0 == " " }
                return .init("/\(field)", String(detail))
            }
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

    private mutating func number(_ body: [String: JSONValue], _ key: String, required: Bool, open range: ClosedRange<Double>) -> Double? {
        guard let v = body[key], v != .null else {
            if required { errors.append(.init("/\(key)", "required number in (\(range.lowerBound), \(range.upperBound))")) }
            return nil
        }
        guard let d = v.number, d > range.lowerBound, d < range.upperBound else {
            errors.append(.init("/\(key)", "must be a number in (\(range.lowerBound), \(range.upperBound))"))
            return nil
        }
        return d
    }

    private mutating func bool(_ body: [String: JSONValue], _ key: String) -> Bool? {
        guard let v = body[key], v != .null else { return nil }
        guard let b = v.bool else { errors.append(.init("/\(key)", "must be true or false")); return nil }
        return b
    }

    private mutating func int(_ body: [String: JSONValue], _ key: String, _ range: ClosedRange<Int>) -> Int? {
        guard let v = body[key], v != .null else { return nil }
        guard let i = v.int, range.contains(i) else {
            errors.append(.init("/\(key)", "must be an integer in \(range.lowerBound)...\(range.upperBound)"))
            return nil
        }
        return i
    }
}
