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
    @Option(name: .long, help: "A second model (e.g. a compact export) whose forward is timed alternately with --model's over the same windows.")
    var compare: String?
    @Flag(name: .long, help: "Compare --model with its compact form (removed neurons and heads deleted in memory), as --compare does.")
    var compact = false
    @Option(name: .long, help: "Passes over the windows (with --compare or --compact).") var reps = 3

    func run() throws {
        if what == "sgemm" || what == "all" { printJSON(Self.sgemmFigures()) }
        guard what != "sgemm" else { return }
        let lm = try LanguageModel.load(path: model)
        let tokens = try lm.tokenize(file: data)
        let m = lm.model
        if compact || compare != nil {
            guard what == "forward", compact != (compare != nil) else {
                throw ValidationError("--compare and --compact go with --what forward, one at a time")
            }
            let other = try compare.map { try LanguageModel.load(path: $0).model } ?? Compaction.compact(m).model
            try printJSON(Self.compareForward(m, other, tokens: tokens, seqlen: seqlen, windows: windows, reps: reps))
            return
        }
        if what == "forward" || what == "all" {
            _ = try m.forward(tokens: Array(tokens[0..<min(256, tokens.count)]))  // warm-up
            let start = Date()
            for w in 0..<windows {
                _ = try m.forward(tokens: Array(tokens[(w * seqlen)..<((w + 1) * seqlen)]))
            }
            let dt = Date().timeIntervalSince(start)
            let flops = Double(windows * seqlen) * CompactExport.flopsPerToken(m, seqlen: seqlen)
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

    /// Forward speed of `a` against `b`: every window is timed for `a` then `b`, `reps` times over, so that
    /// a machine whose speed drifts slows both alike. Reports each model's best window (tokens/s), the
    /// median of the per-window time ratios, and the FLOPs ratio the speed-up is held against.
    static func compareForward(_ a: TransformerModel, _ b: TransformerModel, tokens: [Int], seqlen: Int,
                               windows: Int, reps: Int) throws -> [String: Any] {
        guard tokens.count >= windows * seqlen else {
            throw ValidationError("\(windows) windows of \(seqlen) tokens need \(windows * seqlen) tokens; the data has \(tokens.count)")
        }
        let win = (0..<windows).map { w in Array(tokens[(w * seqlen)..<((w + 1) * seqlen)]) }
        _ = try a.forward(tokens: win[0]); _ = try b.forward(tokens: win[0])  // warm-up
        var best = (Double.infinity, Double.infinity), ratios: [Double] = []
        for _ in 0..<max(1, reps) {
            for w in win {
                var s = Date()
                _ = try a.forward(tokens: w)
                let ta = Date().timeIntervalSince(s)
                s = Date()
                _ = try b.forward(tokens: w)
                let tb = Date().timeIntervalSince(s)
                best = (min(best.0, ta), min(best.1, tb))
                ratios.append(ta / tb)
            }
        }
        ratios.sort()
        let flopsA = CompactExport.flopsPerToken(a, seqlen: seqlen), flopsB = CompactExport.flopsPerToken(b, seqlen: seqlen)
        return ["what": "forward comparison", "seqlen": seqlen, "windows": windows, "reps": reps, "blas_threads": blasThreads(),
                "tokens_per_second": Double(seqlen) / best.0, "tokens_per_second_compare": Double(seqlen) / best.1,
                "speedup_best": best.0 / best.1, "speedup_median_pair": ratios[ratios.count / 2],
                "speedup_pair_quartiles": [ratios[ratios.count / 4], ratios[(3 * ratios.count) / 4]],
                "flops_per_token": flopsA, "flops_per_token_compare": flopsB, "flops_ratio": flopsA / flopsB]
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
