import ArgumentParser
import Foundation
import Model
import Pruning
import Tensor

/// `surgeon bench`: engine speed figures (forward, curvature pass, sgemm), printed as JSON lines.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print engine speed figures: forward tokens/s and GFLOP/s, curvature-pass tokens/s, sgemm GFLOP/s.")

    @Option(name: .long, help: "GGUF file or Hugging Face directory.") var model: String
    @Option(name: .long, help: "Text to take tokens from.") var data: String
    @Option(name: .long, help: "forward | curvature | sgemm | all") var what = "all"
    @Option(name: .long, help: "Forward windows of --seqlen tokens.") var windows = 2
    @Option(name: .long, help: "Forward window length.") var seqlen = 2048
    @Option(name: .long, help: "Curvature sequences.") var samples = 4
    @Option(name: .customLong("curvature-seqlen"), help: "Curvature sequence length.") var curvatureSeqlen = 512

    func run() throws {
        if what == "sgemm" || what == "all" { printJSON(Self.sgemmFigures()) }
        guard what != "sgemm" else { return }
        let lm = try LanguageModel.load(path: model)
        let tokens = try lm.tokenize(file: data)
        let m = lm.model
        if what == "forward" || what == "all" {
            _ = try m.forward(tokens: Array(tokens[0..<min(256, tokens.count)]))  // warm-up
            let start = Date()
            for w in 0..<windows {
                _ = try m.forward(tokens: Array(tokens[(w * seqlen)..<((w + 1) * seqlen)]))
            }
            let dt = Date().timeIntervalSince(start)
            let flops = Double(windows) * Self.forwardFLOPs(m, t: seqlen)
            printJSON(["tool": "surgeon", "what": "forward", "seqlen": seqlen, "windows": windows,
                       "seconds_per_window": dt / Double(windows), "tokens_per_second": Double(windows * seqlen) / dt,
                       "gflops": flops / dt / 1e9, "fraction_of_528_gflops_peak": flops / dt / 528e9,
                       "peak_rss_bytes": PhaseTimer.peakRSSBytes()])
        }
        if what == "curvature" || what == "all" {
            let seqs = (0..<samples).map { s in tokens[(s * curvatureSeqlen)..<((s + 1) * curvatureSeqlen)].map(Int32.init) }
            let start = Date()
            _ = try CurvatureEstimator.estimate(model: m, sequences: seqs, need: .kfac)
            let dt = Date().timeIntervalSince(start)
            printJSON(["tool": "surgeon", "what": "curvature (forward+backward+K-FAC accumulation)", "seqlen": curvatureSeqlen,
                       "samples": samples, "tokens_per_second": Double(samples * curvatureSeqlen) / dt,
                       "peak_rss_bytes": PhaseTimer.peakRSSBytes()])
        }
    }

    /// Matrix-multiply FLOPs of one causal forward over `t` tokens (Linears, LM head, attention scores and values).
    static func forwardFLOPs(_ m: TransformerModel, t: Int) -> Double {
        let linear = Double(m.prunableParameterCount + m.vocabSize * m.hiddenSize)
        var attention = 0.0
        for b in m.blocks { attention += 2 * 2 * Double(b.heads * m.headDim) * Double(t + 1) / 2 }
        return 2 * linear * Double(t) + attention * Double(t)
    }

    static func sgemmFigures() -> [String: Any] {
        let n = 2048
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        func once() {
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                sgemm(m: n, n: n, k: n, pa.baseAddress!, lda: n, pb.baseAddress!, ldb: n, pc.baseAddress!, ldc: n)
            } } }
        }
        once()
        let start = Date()
        for _ in 0..<5 { once() }
        let dt = Date().timeIntervalSince(start) / 5
        return ["tool": "openblas", "what": "sgemm 2048³", "threads": blasThreads(), "gflops": 2 * Double(n * n * n) / dt / 1e9]
    }

    func printJSON(_ object: [String: Any]) {
        if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
            print(String(decoding: data, as: UTF8.self))
        }
    }
}
