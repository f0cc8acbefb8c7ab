import Foundation

/// The sweep's picture: perplexity (log scale) against the fraction of prunable parameters removed, one
/// line per variant, the dense model as a dashed line. Plain SVG, no dependencies.
public struct SweepPlot {
    public var results: [SweepResult]
    public var width = 820.0, height = 520.0

    public init(results: [SweepResult]) { self.results = results }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                          "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd"]

    public func svg() -> String {
        let left = 70.0, right = 250.0, top = 30.0, bottom = 60.0
        let plotW = width - left - right, plotH = height - top - bottom
        let pts = results.flatMap(\.points)
        let dense = results.compactMap(\.densePerplexity).first
        let ys = pts.map(\.perplexity).filter { $0.isFinite && $0 > 0 } + (dense.map { [$0] } ?? [])
        let xMax = max(0.05, (pts.map(\.achievedSparsity).max() ?? 0.3) * 1.05)
        var lo = floor(log10(ys.min() ?? 10)), hi = ceil(log10(ys.max() ?? 100))
        if hi <= lo { hi = lo + 1 }
        if hi - lo > 8 { lo = hi - 8 }
        func x(_ v: Double) -> Double { left + v / xMax * plotW }
        func y(_ p: Double) -> Double {
            let l = min(max(log10(max(p, 1e-30)), lo), hi)
            return top + (hi - l) / (hi - lo) * plotH
        }
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(left)" y="18" font-size="14">Perplexity against removed fraction (log scale)</text>

        """
        // Grid and axes.
        var d = lo
        while d <= hi + 1e-9 {
            for m in [1.0, 2.0, 5.0] where d + log10(m) <= hi + 1e-9 {
                let v = pow(10, d) * m, yy = y(v)
                s += "<line x1=\"\(f(left))\" y1=\"\(f(yy))\" x2=\"\(f(left + plotW))\" y2=\"\(f(yy))\" stroke=\"#e6e6e6\"/>\n"
                s += "<text x=\"\(f(left - 6))\" y=\"\(f(yy + 4))\" text-anchor=\"end\">\(Self.label(v))</text>\n"
            }
            d += 1
        }
        let step = xMax > 0.4 ? 0.1 : 0.05
        var t = 0.0
        while t <= xMax + 1e-9 {
            s += "<line x1=\"\(f(x(t)))\" y1=\"\(f(top))\" x2=\"\(f(x(t)))\" y2=\"\(f(top + plotH))\" stroke=\"#e6e6e6\"/>\n"
            s += "<text x=\"\(f(x(t)))\" y=\"\(f(top + plotH + 18))\" text-anchor=\"middle\">\(Int((t * 100).rounded())) %</text>\n"
            t += step
        }
        s += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#333\"/>\n"
        s += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 18))\" text-anchor=\"middle\">fraction of prunable parameters removed</text>\n"
        s += "<text transform=\"translate(18 \(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">perplexity</text>\n"
        if let dense {
            s += "<line x1=\"\(f(left))\" y1=\"\(f(y(dense)))\" x2=\"\(f(left + plotW))\" y2=\"\(f(y(dense)))\" stroke=\"#000\" stroke-dasharray=\"5,4\"/>\n"
        }
        // One line per variant, and the legend.
        for (i, r) in results.enumerated() {
            let color = Self.palette[i % Self.palette.count]
            let line = ([(0.0, r.densePerplexity)] + r.points.map { ($0.achievedSparsity, Optional($0.perplexity)) })
                .compactMap { px, py in py.map { (x(px), y($0)) } }
            if line.count > 1 {
                s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(line.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " "))\"/>\n"
            }
            for p in r.points { s += "<circle cx=\"\(f(x(p.achievedSparsity)))\" cy=\"\(f(y(p.perplexity)))\" r=\"3\" fill=\"\(color)\"/>\n" }
            let ly = top + 10 + Double(i) * 18
            s += "<line x1=\"\(f(left + plotW + 14))\" y1=\"\(f(ly))\" x2=\"\(f(left + plotW + 38))\" y2=\"\(f(ly))\" stroke=\"\(color)\" stroke-width=\"3\"/>\n"
            s += "<text x=\"\(f(left + plotW + 44))\" y=\"\(f(ly + 4))\">\(Self.escape(r.variant))</text>\n"
        }
        if dense != nil {
            let ly = top + 10 + Double(results.count) * 18
            s += "<line x1=\"\(f(left + plotW + 14))\" y1=\"\(f(ly))\" x2=\"\(f(left + plotW + 38))\" y2=\"\(f(ly))\" stroke=\"#000\" stroke-dasharray=\"5,4\"/>\n"
            s += "<text x=\"\(f(left + plotW + 44))\" y=\"\(f(ly + 4))\">dense</text>\n"
        }
        return s + "</svg>\n"
    }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }

    static func label(_ v: Double) -> String {
        v >= 1e5 ? String(format: "%.0e", v) : (v >= 1 ? String(format: "%.0f", v) : String(format: "%g", v))
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
