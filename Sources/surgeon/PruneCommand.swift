import ArgumentParser
import Foundation
import Checkpoint
import Cluster
import Pruning

extension PruneRequest.Structure: ExpressibleByArgument {}
extension PruneRequest.Method: ExpressibleByArgument {}
extension StructuredUpdateOrder: ExpressibleByArgument {}
extension LowRankTargets: ExpressibleByArgument {}
extension ActivationSpill.Precision: ExpressibleByArgument {}
extension PruneRequest.OutputDType: ExpressibleByArgument {}
extension CouplingPlan.Cost: ExpressibleByArgument {}
extension SemiStructured.PairCost: ExpressibleByArgument {}
extension PruneRequest.Schedule: ExpressibleByArgument {}
extension PruneRequest.Allocation: ExpressibleByArgument {}

/// The options that define a prune request: `surgeon prune` and `surgeon plan` share them.
struct RequestOptions: ParsableArguments {
    @Option(name: .long, help: "GGUF file or Hugging Face directory.") var model: String?
    @Option(name: .long, help: "structured | coupled | 2:4 | unstructured") var structure: PruneRequest.Structure = .structured
    @Option(name: .long, help: "llm-surgeon | kobd | lobd | magnitude | wanda | sparsegpt") var method: PruneRequest.Method = .llmSurgeon
    @Option(name: .long, help: "Final fraction of prunable parameters removed, in (0, 1).") var sparsity: Double?
    @Option(name: .long, help: "Shots of the linear schedule.") var shots = 6
    @Option(name: .long, help: "Calibration text file.") var calibration: String?
    @Option(name: .long, help: "Calibration sequences.") var samples = 16
    @Option(name: .long, help: "Calibration sequence length in tokens.") var seqlen = 512
    @Option(name: .long, help: "Seed of the calibration sampler (Python's random.sample).") var seed: UInt64 = 100
    @Option(name: .customLong("damp-g"), help: "Relative damping of G (default 0.1; docs/quality.md).") var dampG: Double?
    @Option(name: .customLong("damp-a"), help: "Relative damping of A (default 0.1; docs/quality.md).") var dampA: Double?
    @Option(name: .customLong("max-correlate"), help: "Weights per correlated chunk (unstructured, 2:4; the reference: 2000).") var maxCorrelate = PruneRequest.defaultMaxCorrelate
    @Option(name: .customLong("update-order"), help: "Structured row/column updates: sequential (default, docs/quality.md) or summed (the reference).") var updateOrder: StructuredUpdateOrder = .sequential
    @Option(name: .customLong("lora-rank"), help: "Rank of the interleaved low-rank correction (0: off).") var loraRank = 0
    @Option(name: .customLong("lora-lr"), help: "Adam learning rate of the low-rank correction.") var loraLR = 1e-4
    @Option(name: .customLong("lora-epochs"), help: "Epochs of the final low-rank tune on all calibration sequences.") var loraEpochs = 5
    @Option(name: .customLong("lora-subset"), help: "Fraction of calibration sequences of each shot's short tune (at least one).") var loraSubset = 0.025
    @Option(name: .customLong("lora-targets"), help: "Linears with adapters: all | attention | mlp.") var loraTargets: LowRankTargets = .all
    @Option(name: .long, help: "Evaluation text (perplexity before and after every shot).") var eval: String?
    @Option(name: .customLong("eval-windows"), help: "Evaluate on the first K windows only.") var evalWindows: Int?
    @Option(name: .customLong("eval-seqlen"), help: "Evaluation window length.") var evalSeqlen = 2048
    @Option(name: .customLong("eval-every"), help: "Evaluate after every k-th shot (and the last).") var evalEvery = 1
    @Option(name: .customLong("eval-offset"), help: "Token offset of the first evaluation window (a dev split; held out of calibration when --eval is the calibration text).") var evalOffset = 0
    @Flag(name: .long, help: "Coupled only: equal FFN widths and KV-group counts in every layer (a standard config.json).") var uniform = false
    @Option(name: .customLong("uniform-multiple"), help: "With --uniform: FFN neurons are removed in multiples of this.") var uniformMultiple = PruneRequest.defaultUniformMultiple
    @Option(name: .customLong("memory-budget"), help: "Memory the prune may use, e.g. 20GiB, 1.5GiB, 800MiB (default: 80 % of RAM). The in-memory mode runs when it fits, the streamed mode otherwise.")
    var memoryBudget: String?
    @Option(name: .customLong("spill-precision"), help: "Streamed mode: bf16 (default, half the disk) or f32 (exact) calibration rows on disk.")
    var spillPrecision: ActivationSpill.Precision = .bf16
    @Flag(name: .customLong("keep-checkpoints"), help: "Keep every shot's checkpoint weights (default: only the last finished shot's).")
    var keepCheckpoints = false
    @Option(name: .long, help: "f32 | bf16 | f16: storage of the pruned model written (bf16 and f16 are half the size).")
    var dtype: PruneRequest.OutputDType = .f32
    @Option(name: .customLong("coupled-cost"), help: "Coupled only: members (score and update every member matrix) or outputs (only the down/o columns that read a neuron or head; docs/quality.md).")
    var coupledCost: CouplingPlan.Cost = PruneRequest.defaultCoupledCost
    @Flag(name: .customLong("bias-compensation"), help: "Coupled, Llama only: o_proj and down_proj get biases that take a removed head's or neuron's mean output (docs/quality.md).")
    var biasCompensation = false
    @Option(name: .customLong("refit-iterations"), help: "LLM Surgeon, structured / unstructured / 2:4: conjugate-gradient steps refitting the kept weights on each shot's mask (0: off; docs/quality.md).")
    var refitIterations = 0
    @Option(name: .customLong("pair-cost"), help: "2:4 LLM Surgeon: sum (a block costs its two cheapest single weights, the paper's) or joint (the OBS cost of removing the pair together; docs/quality.md).")
    var pairCost: SemiStructured.PairCost?
    @Option(name: .long, help: "linear (t·s/T, the paper's) | quadratic | cubic: the sparsity after shot t is s·(1 − (1 − t/T)^p), smaller steps at the end.")
    var schedule: PruneRequest.Schedule = .linear
    @Option(name: .long, help: "Unstructured / 2:4: global (one threshold over every matrix, the paper's) or per_layer (every matrix reaches each shot's fraction; docs/quality.md).")
    var allocation: PruneRequest.Allocation = .global

    /// The request, or a `ValidationError` naming what is missing.
    func request() throws -> PruneRequest {
        guard let model, let sparsity, let calibration else {
            throw ValidationError("--model, --sparsity and --calibration are required")
        }
        return PruneRequest(model: model, structure: structure, method: method, sparsity: sparsity, shots: shots,
                            calibration: calibration, samples: samples, seqlen: seqlen, seed: seed, dampG: dampG,
                            dampA: dampA, maxCorrelate: maxCorrelate, loraRank: loraRank, eval: eval,
                            evalWindows: evalWindows, evalSeqlen: evalSeqlen, structuredOrder: updateOrder,
                            loraLearningRate: loraLR, loraEpochs: loraEpochs, loraSubset: loraSubset, loraTargets: loraTargets,
                            evalEvery: evalEvery, evalOffset: evalOffset, uniform: uniform, uniformMultiple: uniformMultiple,
                            memoryBudget: try memoryBudget.map(parseBytes), spillPrecision: spillPrecision,
                            keepCheckpoints: keepCheckpoints, dtype: dtype, coupledCost: coupledCost,
                            biasCompensation: biasCompensation, refitIterations: refitIterations, pairCost: pairCost, schedule: schedule,
                            allocation: allocation)
    }
}

/// `20GiB`, `1.5GiB`, `800MiB`, `512MB`, `1073741824` → bytes.
func parseBytes(_ text: String) throws -> Int {
    let t = text.trimmingCharacters(in: .whitespaces)
    let kib = 1024.0, mib = kib * 1024, gib = mib * 1024, tib = gib * 1024
    let units: [(String, Double)] = [("TiB", tib), ("GiB", gib), ("MiB", mib), ("KiB", kib), ("TB", 1e12), ("GB", 1e9),
                                     ("MB", 1e6), ("KB", 1e3), ("T", tib), ("G", gib), ("M", mib), ("K", kib), ("B", 1)]
    for (u, scale) in units where t.hasSuffix(u) {
        if let v = Double(t.dropLast(u.count).trimmingCharacters(in: .whitespaces)), v > 0, v.isFinite { return Int(v * scale) }
        break
    }
    if let v = Int(t), v > 0 { return v }
    throw ValidationError("--memory-budget \(text): not a size (use e.g. 20GiB, 1.5GiB, 800MiB or a byte count)")
}

/// `surgeon prune`: multi-shot pruning of a model into a Hugging Face directory plus `report.json`.
struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prune a model with LLM Surgeon or a baseline; writes a Hugging Face directory and report.json.")

    @OptionGroup var options: RequestOptions
    @Option(name: .long, help: "Output directory.") var out: String?
    @Option(name: .long, help: "hf | gguf: also write the result in this format (the output directory always holds the dense HF model).") var format: CompactExport.Format = .hf
    @Flag(name: .long, help: "Also write a compact model (removed neurons and heads deleted; coupled only) and measure it.") var compact = false
    @Option(name: .long, help: "F32 | F16 | Q8_0 for --format gguf / --compact.") var storage: GGUFWriter.StorageType = .F32
    @Option(name: .customLong("ffn-multiple"), help: "--format gguf --compact: pad every FFN width with zero neurons to a multiple of this (0: exact widths).")
    var ffnMultiple = CompactExport.Options.defaultFFNMultiple
    @Option(name: .long, help: "Continue the interrupted run in this output directory (reads its request.json).") var resume: String?

    func validate() throws { try Export.checkFFNMultiple(ffnMultiple) }

    func run() throws {
        let request: PruneRequest
        let output: URL
        if let resume {
            output = URL(fileURLWithPath: resume)
            let path = output.appendingPathComponent("request.json")
            guard let data = FileManager.default.contents(atPath: path.path) else {
                throw ValidationError("--resume \(resume): no request.json there; it is not a Surgeon output directory")
            }
            request = try JSONDecoder().decode(PruneRequest.self, from: data)
        } else {
            guard let out else { throw ValidationError("--out is required (or --resume DIR)") }
            output = URL(fileURLWithPath: out)
            request = try options.request()
        }
        if compact && request.structure != .coupled {
            throw ValidationError("--compact deletes whole FFN neurons and attention heads, which only --structure coupled removes (\(request.structure.rawValue) leaves zeros inside matrices); use --structure coupled, or drop --compact for a dense model with exact zeros")
        }
        if compact && format == .hf && !request.uniform {
            throw ValidationError("a compact Hugging Face directory needs the same widths in every layer: add --uniform, or use --format gguf --compact (per-layer widths, which llama.cpp reads)")
        }
        do { try request.validate() } catch let e as PruneRequest.Invalid { throw ValidationError(e.description) }
        // Under mpirun every rank runs this; rank 0 alone prints and writes (SurgeonRunner), and a failure on any
        // rank ends all of them with its reason (a rank waiting in a collective would otherwise wait forever).
        let world = try Cluster.world()
        defer { world.finalize() }
        let printer = ProgressPrinter(silent: world.rank != 0)
        if world.size > 1 { printer.line("distributed: \(world.size) ranks (MPI); this is \(world.name)") }
        let runner = SurgeonRunner(log: { line in printer.line(line) }, communicator: world)
        let report: PruneReport
        do {
            report = try runner.run(request, outputDirectory: output, progress: { printer.progress($0) }, isCancelled: { false })
        } catch where world.size > 1 {
            FileHandle.standardError.write(Data("surgeon prune: \(world.name) failed: \(error)\n".utf8))
            world.abort(code: 1)
        }
        guard world.rank == 0 else { return }
        printer.line(String(format: "done: %.2f%% of %d prunable parameters removed; perplexity %@ → %@; %.0f s; peak RSS %.2f GiB",
                            report.achievedSparsity * 100, report.prunableParameters,
                            report.perplexityBefore.map { String(format: "%.4f", $0) } ?? "-",
                            report.perplexityAfter.map { String(format: "%.4f", $0) } ?? "-",
                            report.seconds["total"] ?? 0, Double(report.peakRSSBytes ?? 0) / Double(1 << 30)))
        printer.line("wrote \(output.path): \(report.artifacts.joined(separator: ", "))")
        if compact || format == .gguf { try exportResult(request, output: output, printer: printer) }
    }

    /// `--format gguf` / `--compact`: the same as `surgeon export --from OUT`, figures merged into report.json.
    func exportResult(_ request: PruneRequest, output: URL, printer: ProgressPrinter) throws {
        // `--dtype f16` carries over to a GGUF export unless `--storage` says otherwise (GGUF has no bf16 writer here).
        let storage: GGUFWriter.StorageType = self.storage == .F32 && request.dtype == .f16 && format == .gguf ? .F16 : self.storage
        let path = output.appendingPathComponent("export" + Export.suffix(format: format, compact: compact, storage: storage)).path
        let options = CompactExport.Options(format: format, compact: compact, uniform: compact && format == .hf, storage: storage,
                                            path: path, eval: request.eval, evalWindows: request.evalWindows,
                                            evalSeqlen: request.evalSeqlen, ffnMultiple: ffnMultiple)
        let (r, _) = try Export.write(source: output.path, tokenizerFrom: request.model, options: options,
                                      recordIn: output.path) { printer.line($0) }
        printer.line(Export.table(r))
    }
}

/// Prints progress on one rewritten stderr line and log lines above it.
final class ProgressPrinter: @unchecked Sendable {
    private let lock = NSLock()
    private var phase = ""
    /// Prints nothing (the ranks other than 0 of a distributed run).
    private let silent: Bool

    init(silent: Bool = false) { self.silent = silent }

    func progress(_ p: PruneProgress) {
        guard !silent else { return }
        let eta = p.etaSeconds.map { String(format: " eta %.0fs", $0) } ?? ""
        let text = String(format: "[shot %d/%d %5.1f%%%@] %@", p.shot, p.shots, p.fraction * 100, eta, p.message)
        lock.lock(); defer { lock.unlock() }
        let newline = p.phase != phase && !phase.isEmpty
        phase = p.phase
        FileHandle.standardError.write(Data(((newline ? "\n" : "\r") + text + "\u{1B}[K").utf8))
    }

    func line(_ s: String) {
        guard !silent else { return }
        lock.lock(); defer { lock.unlock() }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + s + "\n").utf8))
    }
}
