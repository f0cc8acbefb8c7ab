import Checkpoint
import Foundation
import Model

/// Writes a pruning result in another format, optionally compact (removed neurons and heads deleted),
/// and measures what that bought: parameters, bytes on disk, perplexity and forward speed.
public enum CompactExport {
    public enum Format: String, Codable, Sendable { case hf, gguf }

    /// What to write and measure.
    public struct Options: Sendable {
        public var format: Format
        public var compact: Bool
        public var uniform: Bool
        public var storage: GGUFWriter.StorageType
        /// Output file (gguf) or directory (hf).
        public var path: String
        /// Text to evaluate masked and compact models on (nil: no perplexity).
        public var eval: String?
        public var evalWindows: Int?
        public var evalSeqlen: Int
        /// Tokens per timed forward pass (0: no speed measurement) and repetitions (best is kept).
        public var benchSeqlen: Int
        public var benchReps: Int
        /// Compact GGUF: every FFN width is padded with zero neurons to a multiple of this (0: none). llama.cpp
        /// ran a coupled 20 % export with widths like 1527 at 0.90× the masked model's speed, padded at
        /// 1.11–1.13× (likely its fast F32 kernels want inner sizes that fill SIMD registers; not checked).
        public var ffnMultiple: Int

        /// The GGUF default of `ffnMultiple`: 32 floats fill an AVX-512 register pair (and AVX2's four).
        public static let defaultFFNMultiple = 32

        public init(format: Format, compact: Bool, uniform: Bool = false, storage: GGUFWriter.StorageType = .F32,
                    path: String, eval: String? = nil, evalWindows: Int? = nil, evalSeqlen: Int = 2048,
                    benchSeqlen: Int = 512, benchReps: Int = 4, ffnMultiple: Int = Options.defaultFFNMultiple) {
            self.format = format; self.compact = compact; self.uniform = uniform; self.storage = storage; self.path = path
            self.eval = eval; self.evalWindows = evalWindows; self.evalSeqlen = evalSeqlen
            self.benchSeqlen = benchSeqlen; self.benchReps = benchReps; self.ffnMultiple = ffnMultiple
        }
    }

    /// The honest figures (the `compact` section of report.json).
    public struct Report: Codable, Sendable {
        public var format: String
        public var storage: String
        public var compact: Bool
        public var path: String
        public var parametersDense: Int
        public var parametersCompact: Int
        /// Parameters in the written file (compact plus the layout cost).
        public var parametersWritten: Int
        public var layoutCost: Compaction.LayoutCost?
        public var bytesDense: Int?
        public var bytesWritten: Int
        public var ffnWidths: [Int]
        public var headCounts: [Int]
        public var kvHeadCounts: [Int]
        /// Forward FLOPs per token at the bench length (matmuls + attention), dense and compact.
        public var flopsPerTokenDense: Double
        public var flopsPerTokenCompact: Double
        public var tokensPerSecondMasked: Double?
        public var tokensPerSecondCompact: Double?
        public var perplexityMasked: Double?
        public var perplexityCompact: Double?
        public var evaluation: String?
    }

    /// Loads `modelPath` (the pruned model; an output directory's dense HF files), writes it as asked,
    /// and returns the figures. `tokenizerFrom` supplies a GGUF tokenizer for GGUF output when the model
    /// itself has a Hugging Face one.
    public static func run(modelPath: String, tokenizerFrom: String?, options o: Options,
                           log: (String) -> Void = { _ in }) throws -> Report {
        let source = try CheckpointLoader.load(path: modelPath)
        let masked = try TransformerModel(checkpoint: source)
        var tokenizer = source.tokenizer
        if o.format == .gguf, case .huggingFace? = tokenizer, let src = tokenizerFrom, src.hasSuffix(".gguf"),
           let t = try? GGUFFile(path: src).tokenizerData() {
            tokenizer = .gguf(t)
        }
        if o.uniform, !(o.compact && o.format == .hf) {
            throw Compaction.Failure.notUniform("--uniform applies to a compact Hugging Face directory (--format hf --compact)")
        }
        var compactModel = masked, written = masked
        var cost: Compaction.LayoutCost?
        if o.compact {
            let (m, plan) = try Compaction.compact(masked)
            log("compaction removes \(plan.removedStructures) neurons and heads")
            compactModel = m
            // A compact HF directory is uniform: its widths are already multiples of --uniform-multiple.
            let (w, c) = Compaction.contiguousGroups(m, ffnMultiple: o.format == .gguf ? max(0, o.ffnMultiple) : 0)
            written = w; cost = c
            if o.format == .gguf { try Compaction.checkGGUFWidths(written) }
        }
        let ck = o.compact
            ? try Compaction.checkpoint(written, tokenizer: tokenizer, source: modelPath, uniform: o.uniform)
            : { var c = source; c.tokenizer = tokenizer; for (k, v) in masked.hfTensors() { c.tensors[k] = v }; return c }()
        try? FileManager.default.removeItem(atPath: o.path)
        switch o.format {
        case .gguf:
            try GGUFWriter.write(ck, to: o.path, storage: o.storage, name: "surgeon-compact")
        case .hf:
            let st: SafetensorsWriter.StorageType = o.storage == .F16 ? .F16 : .F32
            _ = try HFDirectoryWriter.write(ck, to: o.path, storage: st)
        }
        log("wrote \(o.path)")

        // Perplexity and speed, masked against compact.
        var pplM: Double?, pplC: Double?, tpsM: Double?, tpsC: Double?, evaluation: String?
        var tokens: [Int] = []
        if let e = o.eval {
            // The original model's tokenizer (the pruned directory's tokenizer.json may use a form this
            // project's reader lacks); the same ids either way.
            let lm = try tokenizerFrom.flatMap { try? LanguageModel.load(path: $0) } ?? LanguageModel.load(path: modelPath)
            tokens = try lm.tokenize(file: e)
        }
        if o.eval != nil {
            pplM = try masked.perplexity(tokens: tokens, seqlen: o.evalSeqlen, windows: o.evalWindows).perplexity
            pplC = try compactModel.perplexity(tokens: tokens, seqlen: o.evalSeqlen, windows: o.evalWindows).perplexity
            evaluation = "\(o.evalWindows.map(String.init) ?? "all") windows × \(o.evalSeqlen) tokens of \(o.eval!)"
            log(String(format: "perplexity masked %.4f compact %.4f", pplM!, pplC!))
        }
        if o.benchSeqlen > 1 {
            let n = min(o.benchSeqlen, masked.maxPositions)
            let bench = tokens.count >= n ? Array(tokens[0..<n]) : (0..<n).map { $0 % masked.vocabSize }
            (tpsM, tpsC) = try tokensPerSecond(masked, compactModel, bench, reps: o.benchReps)
            log(String(format: "forward tokens/s masked %.1f compact %.1f (×%.3f)", tpsM!, tpsC!, tpsC! / tpsM!))
        }
        let t = max(2, o.benchSeqlen)
        return Report(
            format: o.format.rawValue, storage: o.storage.rawValue, compact: o.compact, path: o.path,
            parametersDense: parameterCount(masked), parametersCompact: parameterCount(compactModel),
            parametersWritten: ck.tensors.values.reduce(0) { $0 + $1.count } - (ck.config.tieWordEmbeddings ? (ck.tensors["lm_head.weight"]?.count ?? 0) : 0),
            layoutCost: cost, bytesDense: directoryBytes(modelPath), bytesWritten: directoryBytes(o.path) ?? 0,
            ffnWidths: written.blocks.map(\.ffnWidth), headCounts: written.blocks.map(\.heads), kvHeadCounts: written.blocks.map(\.kvHeads),
            flopsPerTokenDense: flopsPerToken(masked, seqlen: t), flopsPerTokenCompact: flopsPerToken(compactModel, seqlen: t),
            tokensPerSecondMasked: tpsM, tokensPerSecondCompact: tpsC, perplexityMasked: pplM, perplexityCompact: pplC,
            evaluation: evaluation)
    }

    /// Best of `reps` timed forward passes over `tokens` of each model, in tokens per second. The two
    /// models alternate (a, b, a, b, …) so that a busy machine slows both alike.
    public static func tokensPerSecond(_ a: TransformerModel, _ b: TransformerModel, _ tokens: [Int],
                                       reps: Int) throws -> (Double, Double) {
        var best = (Double.infinity, Double.infinity)
        for _ in 0..<max(1, reps) {
            var s = Date()
            _ = try a.forward(tokens: tokens, batch: 1)
            best.0 = min(best.0, Date().timeIntervalSince(s))
            s = Date()
            _ = try b.forward(tokens: tokens, batch: 1)
            best.1 = min(best.1, Date().timeIntervalSince(s))
        }
        return (Double(tokens.count) / best.0, Double(tokens.count) / best.1)
    }

    /// Every parameter of the model (embeddings, norms, Linears; a tied head counted once).
    public static func parameterCount(_ m: TransformerModel) -> Int {
        m.tokenEmbedding.count + (m.positionEmbedding?.count ?? 0) + (m.lmHead?.count ?? 0) + m.finalNorm.weight.count
            + (m.finalNorm.bias?.count ?? 0) + m.prunableParameterCount
            + m.blocks.reduce(0) { $0 + $1.attentionNorm.weight.count + $1.ffnNorm.weight.count + ($1.attentionNorm.bias?.count ?? 0) + ($1.ffnNorm.bias?.count ?? 0) }
    }

    /// Forward FLOPs per token for a causal sequence of `seqlen`: 2 per Linear weight, the LM head, and
    /// attention scores and mixing (2·2·D per head per key, on average (T+1)/2 keys); skipped sub-blocks cost 0.
    public static func flopsPerToken(_ m: TransformerModel, seqlen t: Int) -> Double {
        let d = Double(m.headDim), keys = Double(t + 1) / 2
        let linear = 2 * Double(m.blocks.reduce(0) { $0 + $1.linears.reduce(0) { $0 + $1.weight.count } })
        let attention = m.blocks.reduce(0.0) { $0 + 4 * d * keys * Double($1.heads) }
        return linear + attention + 2 * Double(m.vocabSize * m.hiddenSize)
    }

    /// Bytes of a file, or of the regular files in a directory (nil when absent).
    public static func directoryBytes(_ path: String) -> Int? {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else { return nil }
        if !isDir.boolValue { return (try? fm.attributesOfItem(atPath: path)[.size] as? Int) ?? nil }
        let names = (try? fm.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { $0.hasSuffix(".safetensors") || $0 == "config.json" }.reduce(0) {
            $0 + (((try? fm.attributesOfItem(atPath: path + "/" + $1)[.size] as? Int) ?? nil) ?? 0)
        }
    }
}
