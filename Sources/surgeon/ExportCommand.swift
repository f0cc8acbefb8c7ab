import ArgumentParser
import Checkpoint
import Foundation
import Pruning

extension CompactExport.Format: ExpressibleByArgument {}
extension GGUFWriter.StorageType: ExpressibleByArgument {}

/// `surgeon export`: an existing pruning output (or any model) as GGUF or a Hugging Face directory,
/// optionally compact; adds the measured figures to the output's report.json.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a pruning result as GGUF or HF, optionally compact (removed neurons and heads deleted), and measure it.")

    @Option(name: .long, help: "Pruning output directory (from surgeon prune).") var from: String?
    @Option(name: .long, help: "Model to export instead of an output directory (GGUF file or HF directory).") var model: String?
    @Option(name: .long, help: "GGUF whose tokenizer to use (default: the run's --model, else --model).") var tokenizer: String?
    @Option(name: .long, help: "gguf | hf") var format: CompactExport.Format = .gguf
    @Flag(name: .long, help: "Delete removed FFN neurons and attention heads (coupled structured results only).") var compact = false
    @Flag(name: .long, help: "HF compact only: require equal widths in every layer (standard config.json).") var uniform = false
    @Option(name: .long, help: "F32 | F16 | Q8_0 (GGUF matrices; HF takes F32 or F16).") var storage: GGUFWriter.StorageType = .F32
    @Option(name: .long, help: "Output file (gguf) or directory (hf); default inside --from.") var out: String?
    @Option(name: .long, help: "Evaluation text (masked vs compact perplexity); default: the run's --eval.") var eval: String?
    @Option(name: .customLong("eval-windows"), help: "Evaluate on the first K windows only.") var evalWindows: Int?
    @Option(name: .customLong("eval-seqlen"), help: "Evaluation window length.") var evalSeqlen: Int?
    @Flag(name: .customLong("no-eval"), help: "Skip the perplexity comparison.") var noEval = false
    @Option(name: .customLong("bench-seqlen"), help: "Tokens per timed forward pass (0: no speed figures).") var benchSeqlen = 512
    @Option(name: .customLong("bench-reps"), help: "Timed passes per model (best is kept).") var benchReps = 4
    @Option(name: .customLong("ffn-multiple"), help: "Compact GGUF: pad every FFN width with zero neurons to a multiple of this (0: exact widths; llama.cpp runs odd widths much slower).")
    var ffnMultiple = CompactExport.Options.defaultFFNMultiple

    func validate() throws { try Self.checkFFNMultiple(ffnMultiple) }

    /// `--ffn-multiple` of `export` and `prune`: 0 (exact widths) or a positive multiple.
    static func checkFFNMultiple(_ m: Int) throws {
        guard m >= 0 else { throw ValidationError("--ffn-multiple must be 0 (exact widths) or a positive multiple, got \(m)") }
    }

    func run() throws {
        guard (from == nil) != (model == nil) else { throw ValidationError("give exactly one of --from (pruning output) or --model") }
        var request: PruneRequest?
        if let from, let data = FileManager.default.contents(atPath: from + "/request.json") {
            request = try? JSONDecoder().decode(PruneRequest.self, from: data)
        }
        let source = from ?? model!
        let ext = Self.suffix(format: format, compact: compact, storage: storage)
        let path = out ?? (from.map { $0 + "/export" + ext } ?? "export" + ext)
        let options = CompactExport.Options(
            format: format, compact: compact, uniform: uniform, storage: storage, path: path,
            eval: noEval ? nil : (eval ?? request?.eval), evalWindows: evalWindows ?? request?.evalWindows,
            evalSeqlen: evalSeqlen ?? request?.evalSeqlen ?? 2048, benchSeqlen: benchSeqlen, benchReps: benchReps,
            ffnMultiple: ffnMultiple)
        let (report, json) = try Self.write(source: source, tokenizerFrom: tokenizer ?? request?.model ?? model,
                                            options: options, recordIn: from) {
            FileHandle.standardError.write(Data(($0 + "\n").utf8))
        }
        print(String(decoding: json, as: UTF8.self))
        print(Self.table(report))
    }

    /// The file-name suffix of an export (`export<suffix>` inside an output directory).
    static func suffix(format: CompactExport.Format, compact: Bool, storage: GGUFWriter.StorageType) -> String {
        format == .gguf ? (compact ? "-compact-\(storage.rawValue).gguf" : "-\(storage.rawValue).gguf") : (compact ? "-compact-hf" : "-hf")
    }

    /// Writes and measures the export; with `recordIn` (a pruning output directory) adds the figures to its
    /// report.json under `exports`. Also used by `surgeon prune --format/--compact`.
    static func write(source: String, tokenizerFrom: String?, options: CompactExport.Options, recordIn from: String?,
                      log: (String) -> Void) throws -> (CompactExport.Report, Data) {
        let report: CompactExport.Report
        do {
            report = try CompactExport.run(modelPath: source, tokenizerFrom: tokenizerFrom, options: options, log: log)
        } catch let e as Compaction.Failure {
            throw ValidationError(e.description)
        }
        let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]; enc.keyEncodingStrategy = .convertToSnakeCase
        let json = try enc.encode(report)
        if let from { try merge(json, into: from + "/report.json", key: "export_" + URL(fileURLWithPath: options.path).lastPathComponent) }
        return (report, json)
    }

    /// Adds `json` under `key` to the object in `path` (creating it when absent), keeping every other key.
    static func merge(_ json: Data, into path: String, key: String) throws {
        var obj = (FileManager.default.contents(atPath: path).flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any]) ?? [:]
        var exports = obj["exports"] as? [String: Any] ?? [:]
        exports[key] = try JSONSerialization.jsonObject(with: json)
        obj["exports"] = exports
        try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    static func table(_ r: CompactExport.Report) -> String {
        func f(_ x: Double?) -> String { x.map { String(format: "%.4f", $0) } ?? "-" }
        func t(_ x: Double?) -> String { x.map { String(format: "%.1f", $0) } ?? "-" }
        var s = "model      params        bytes         ppl        tokens/s   GFLOP/token\n"
        s += String(format: "masked     %-13d %-13@ %-10@ %-10@ %.4f\n", r.parametersDense, r.bytesDense.map(String.init) ?? "-", f(r.perplexityMasked), t(r.tokensPerSecondMasked), r.flopsPerTokenDense / 1e9)
        s += String(format: "compact    %-13d %-13d %-10@ %-10@ %.4f\n", r.parametersWritten, r.bytesWritten, f(r.perplexityCompact), t(r.tokensPerSecondCompact), r.flopsPerTokenCompact / 1e9)
        if let a = r.tokensPerSecondMasked, let b = r.tokensPerSecondCompact {
            s += String(format: "speed-up ×%.3f, FLOPs ratio ×%.3f (dense/compact)", b / a, r.flopsPerTokenDense / r.flopsPerTokenCompact)
        }
        return s
    }
}
