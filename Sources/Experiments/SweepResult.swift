import Foundation
import Pruning

/// One finished variant of a sweep: its settings and the perplexity after every evaluated shot.
public struct SweepResult: Codable, Sendable, Equatable {
    public struct Point: Codable, Sendable, Equatable {
        public var shot: Int
        public var targetSparsity: Double
        public var achievedSparsity: Double
        public var perplexity: Double
        /// Wall seconds of the run up to the end of this shot, evaluation excluded.
        public var seconds: Double
        enum CodingKeys: String, CodingKey {
            case shot, perplexity, seconds
            case targetSparsity = "target_sparsity", achievedSparsity = "achieved_sparsity"
        }
    }

    public var variant: String
    public var request: PruneRequest
    public var densePerplexity: Double?
    public var points: [Point]
    /// Whole run, evaluation excluded, and its peak resident memory.
    public var seconds: Double
    public var peakRSSBytes: Int?

    enum CodingKeys: String, CodingKey {
        case variant, request, points, seconds
        case densePerplexity = "dense_perplexity", peakRSSBytes = "peak_rss_bytes"
    }

    public init(variant: String, report: PruneReport) {
        self.variant = variant
        request = report.request
        densePerplexity = report.perplexityBefore
        var elapsed = 0.0
        var pts: [Point] = []
        for s in report.shots {
            elapsed += s.seconds.filter { !$0.key.contains(".") && $0.key != "eval" }.values.reduce(0, +)
            if let p = s.perplexity {
                pts.append(Point(shot: s.shot, targetSparsity: s.targetSparsity, achievedSparsity: s.achievedSparsity,
                                 perplexity: p, seconds: elapsed))
            }
        }
        points = pts
        seconds = elapsed + (report.seconds["load"] ?? 0) + (report.seconds["tokenize"] ?? 0)
        peakRSSBytes = report.peakRSSBytes
    }

    /// One CSV row per evaluated shot, with the settings that vary in sweeps as columns.
    public static func csv(_ results: [SweepResult]) -> String {
        var lines = ["variant,structure,method,samples,seqlen,shots,damp_g,damp_a,update_order,lora_rank,shot,target_sparsity,achieved_sparsity,perplexity,dense_perplexity,seconds,peak_rss_gib"]
        for r in results {
            let q = r.request
            for p in r.points {
                let fields: [String] = [
                    r.variant, q.structure.rawValue, q.method.rawValue, "\(q.samples)", "\(q.seqlen)", "\(q.shots)",
                    q.dampG.map { "\($0)" } ?? "default", q.dampA.map { "\($0)" } ?? "default", q.structuredOrder.rawValue,
                    "\(q.loraRank)", "\(p.shot)", String(format: "%.4f", p.targetSparsity), String(format: "%.4f", p.achievedSparsity),
                    String(format: "%.4f", p.perplexity), r.densePerplexity.map { String(format: "%.4f", $0) } ?? "",
                    String(format: "%.1f", p.seconds), r.peakRSSBytes.map { String(format: "%.2f", Double($0) / Double(1 << 30)) } ?? "",
                ]
                lines.append(fields.map(csvField).joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func csvField(_ s: String) -> String {
        s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
