import Foundation
import Pruning

/// Runs every variant of a grid into `out/runs/<name>/`, one after another, and keeps `out/results.csv`,
/// `out/results.json` and `out/plot.svg` up to date after each one.
///
/// Resumable: a variant whose `report.json` holds the same request is skipped, and an interrupted variant
/// continues after its last finished shot (the runner's own resume). A variant whose directory holds a
/// different request is an error, so a changed grid never mixes two settings under one name.
public struct Sweep {
    /// Runs one prune (the real runner, or a stand-in in tests).
    public typealias Run = (_ request: PruneRequest, _ directory: URL) throws -> PruneReport

    public var grid: SweepGrid
    public var output: URL
    public var log: (String) -> Void

    public init(grid: SweepGrid, output: URL, log: @escaping (String) -> Void = { _ in }) {
        self.grid = grid; self.output = output; self.log = log
    }

    public func directory(_ v: SweepGrid.Variant) -> URL { output.appendingPathComponent("runs").appendingPathComponent(v.name) }

    /// The finished report of a variant, if its directory holds one for the same request.
    public func finishedReport(_ v: SweepGrid.Variant) throws -> PruneReport? {
        let dir = directory(v)
        guard let data = FileManager.default.contents(atPath: dir.appendingPathComponent("report.json").path) else { return nil }
        let report: PruneReport
        do { report = try JSONDecoder().decode(PruneReport.self, from: data) } catch {
            throw SweepGrid.Invalid(description: "\(dir.path)/report.json is unreadable (\(error)); remove it to rerun variant \(v.name)")
        }
        guard report.request == v.request else {
            throw SweepGrid.Invalid(description: "variant \(v.name) changed since \(dir.path) was run; remove that directory or rename the variant")
        }
        return report
    }

    /// Runs the variants not finished yet (or only those named in `only`), then writes the table and plot.
    @discardableResult
    public func run(only: Set<String> = [], using runVariant: Run) throws -> [SweepResult] {
        let fm = FileManager.default
        try fm.createDirectory(at: output.appendingPathComponent("runs"), withIntermediateDirectories: true)
        if let bad = only.subtracting(grid.variants.map(\.name)).sorted().first {
            throw SweepGrid.Invalid(description: "no variant named \"\(bad)\" in the grid (have: \(grid.variants.map(\.name).joined(separator: ", ")))")
        }
        var dense: [String: Double] = [:]  // dense perplexity per evaluation protocol, shared between variants
        for (i, v) in grid.variants.enumerated() {
            if let r = try finishedReport(v) {
                if let p = r.perplexityBefore { dense[Self.evalKey(v.request)] = p }
                log("[\(i + 1)/\(grid.variants.count)] \(v.name): done earlier")
                continue
            }
            if !only.isEmpty && !only.contains(v.name) { continue }
            let dir = directory(v)
            if let data = fm.contents(atPath: dir.appendingPathComponent("request.json").path),
               let old = try? JSONDecoder().decode(PruneRequest.self, from: data), old != v.request {
                throw SweepGrid.Invalid(description: "variant \(v.name) changed since \(dir.path) was started; remove that directory or rename the variant")
            }
            let densePath = dir.appendingPathComponent("checkpoints/dense.json")
            if let p = dense[Self.evalKey(v.request)], !fm.fileExists(atPath: densePath.path) {
                try fm.createDirectory(at: densePath.deletingLastPathComponent(), withIntermediateDirectories: true)
                try JSONEncoder().encode(p).write(to: densePath, options: .atomic)
            }
            log("[\(i + 1)/\(grid.variants.count)] \(v.name): running")
            let report = try runVariant(v.request, dir)
            if let p = report.perplexityBefore { dense[Self.evalKey(v.request)] = p }
            if !grid.keepModels { Self.dropModels(dir) }
            try writeResults()
        }
        return try writeResults()
    }

    /// Rewrites `results.csv`, `results.json` and `plot.svg` from the finished variants.
    @discardableResult
    public func writeResults() throws -> [SweepResult] {
        var results: [SweepResult] = []
        for v in grid.variants {
            if let r = try finishedReport(v) { results.append(SweepResult(variant: v.name, report: r)) }
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(results).write(to: output.appendingPathComponent("results.json"), options: .atomic)
        try Data(SweepResult.csv(results).utf8).write(to: output.appendingPathComponent("results.csv"), options: .atomic)
        try Data(SweepPlot(results: results).svg().utf8).write(to: output.appendingPathComponent("plot.svg"), options: .atomic)
        return results
    }

    /// Model files and per-shot weights of a finished variant (its report and shot records stay).
    static func dropModels(_ dir: URL) {
        let fm = FileManager.default
        try? fm.removeItem(at: dir.appendingPathComponent("model.safetensors"))
        let ck = dir.appendingPathComponent("checkpoints")
        for shot in (try? fm.contentsOfDirectory(atPath: ck.path)) ?? [] where shot.hasPrefix("shot-") {
            try? fm.removeItem(at: ck.appendingPathComponent(shot).appendingPathComponent("weights.safetensors"))
        }
    }

    static func evalKey(_ r: PruneRequest) -> String {
        "\(r.model)|\(r.eval ?? "")|\(r.evalOffset)|\(r.evalWindows ?? -1)|\(r.evalSeqlen)"
    }
}
