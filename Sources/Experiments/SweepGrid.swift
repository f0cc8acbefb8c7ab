import Foundation
import Pruning

/// A grid of prune settings (`surgeon sweep --grid FILE`): a JSON object
///
///     { "base": { "model": "…", "calibration": "…", "sparsity": 0.3, … },      // fields of a prune request
///       "variants": [ { "name": "surgeon", "method": "llm-surgeon" }, { "name": "kobd", "method": "kobd" } ],
///       "grid": { "damp_g": [0.01, 0.1] },                                        // optional cartesian product
///       "keep_models": false }
///
/// Every variant is `base` overridden by the variant's fields, then once per combination of `grid` values
/// (named `<variant>-<key>=<value>…`). Keys are the snake_case fields of `report.json`'s request; an
/// unknown key is an error rather than a silently ignored setting.
public struct SweepGrid: Sendable {
    public struct Variant: Sendable, Equatable {
        public var name: String
        public var request: PruneRequest
    }

    public var variants: [Variant]
    /// Keep each finished variant's pruned model and shot checkpoints (default: only the reports).
    public var keepModels: Bool

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public init(variants: [Variant], keepModels: Bool = false) {
        self.variants = variants; self.keepModels = keepModels
    }

    /// Parses a grid file; relative paths in it are taken relative to `relativeTo` (the current directory).
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw Invalid(description: "grid \(url.path): cannot read: \(error.localizedDescription)") }
        try self.init(json: data, source: url.path)
    }

    public init(json data: Data, source: String = "grid") throws {
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw Invalid(description: "\(source): not a JSON object")
        }
        let known: Set<String> = ["base", "variants", "grid", "keep_models"]
        if let bad = root.keys.sorted().first(where: { !known.contains($0) }) {
            throw Invalid(description: "\(source): unknown top-level key \"\(bad)\" (expected base, variants, grid, keep_models)")
        }
        let base = root["base"] as? [String: Any] ?? [:]
        if root["base"] != nil && root["base"] as? [String: Any] == nil { throw Invalid(description: "\(source): base must be an object") }
        var listed: [[String: Any]] = [[:]]
        if let v = root["variants"] {
            guard let arr = v as? [[String: Any]], !arr.isEmpty else { throw Invalid(description: "\(source): variants must be a non-empty array of objects") }
            listed = arr
        }
        var axes: [(String, [Any])] = []
        if let g = root["grid"] {
            guard let obj = g as? [String: Any] else { throw Invalid(description: "\(source): grid must be an object of arrays") }
            for key in obj.keys.sorted() {
                guard let values = obj[key] as? [Any], !values.isEmpty else { throw Invalid(description: "\(source): grid.\(key) must be a non-empty array") }
                axes.append((key, values))
            }
        }
        keepModels = root["keep_models"] as? Bool ?? false
        let fields = Set(PruneRequest.fieldNames)
        for (i, v) in listed.enumerated() {
            for key in v.keys where key != "name" && !fields.contains(key) { throw Invalid(description: "\(source): variants[\(i)]: unknown field \"\(key)\"") }
        }
        for key in base.keys where !fields.contains(key) { throw Invalid(description: "\(source): base: unknown field \"\(key)\"") }
        for (key, _) in axes where !fields.contains(key) { throw Invalid(description: "\(source): grid: unknown field \"\(key)\"") }

        var out: [Variant] = []
        for (i, v) in listed.enumerated() {
            let stem = (v["name"] as? String) ?? Self.autoName(v.filter { $0.key != "name" }, fallback: "variant\(i + 1)")
            for combo in Self.product(axes) {
                var merged = base
                for (k, x) in v where k != "name" { merged[k] = x }
                for (k, x) in combo { merged[k] = x }
                let name = combo.isEmpty ? stem : stem + "-" + combo.map { "\($0.0)=\(Self.text($0.1))" }.joined(separator: ",")
                guard Self.isSafeName(name) else { throw Invalid(description: "\(source): variant name \"\(name)\" must use only letters, digits and . _ = , + -") }
                let request: PruneRequest
                do {
                    request = try JSONDecoder().decode(PruneRequest.self, from: try JSONSerialization.data(withJSONObject: merged))
                } catch {
                    throw Invalid(description: "\(source): variant \(name): \(Self.describe(error))")
                }
                do { try request.validate() } catch { throw Invalid(description: "\(source): variant \(name): \(error)") }
                out.append(Variant(name: name, request: request))
            }
        }
        var seen = Set<String>()
        for v in out where !seen.insert(v.name).inserted { throw Invalid(description: "\(source): two variants are named \"\(v.name)\"") }
        variants = out
    }

    static func product(_ axes: [(String, [Any])]) -> [[(String, Any)]] {
        var combos: [[(String, Any)]] = [[]]
        for (key, values) in axes {
            combos = combos.flatMap { c in values.map { c + [(key, $0)] } }
        }
        return combos
    }

    static func autoName(_ fields: [String: Any], fallback: String) -> String {
        fields.isEmpty ? fallback : fields.keys.sorted().map { "\($0)=\(text(fields[$0]!))" }.joined(separator: ",")
    }

    static func text(_ x: Any) -> String {
        if let s = x as? String { return s.replacingOccurrences(of: ":", with: "of") }
        if let n = x as? NSNumber { return n.stringValue }
        return "\(x)"
    }

    static func isSafeName(_ s: String) -> Bool {
        !s.isEmpty && !s.hasPrefix(".") && s.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) && $0.isASCII || "._=,+-".unicodeScalars.contains($0) }
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "missing field \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let ctx), DecodingError.dataCorrupted(let ctx):
            return "field \"\(ctx.codingPath.map(\.stringValue).joined(separator: "."))\": \(ctx.debugDescription)"
        default: return "\(error)"
        }
    }
}
