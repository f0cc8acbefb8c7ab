import ArgumentParser
import Experiments
import Foundation
import Pruning

/// `surgeon sweep`: runs a grid of prune settings, resumably, into one table and one plot.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a grid of prune settings; writes results.csv, results.json and plot.svg (resumable).",
        discussion: "The grid file is JSON: {\"base\": {request fields}, \"variants\": [{\"name\": …, fields…}], \"grid\": {field: [values]}}. See config/sweeps/.")

    @Option(name: .long, help: "Grid file (JSON).") var grid: String
    @Option(name: .long, help: "Output directory: runs/<variant>/, results.csv, results.json, plot.svg.") var out: String
    @Option(name: .long, parsing: .upToNextOption, help: "Run only these variants (others finished earlier still appear in the results).") var only: [String] = []
    @Flag(name: .long, help: "List the variants and what is finished, run nothing.") var list = false
    @Flag(name: .long, help: "Only rewrite the table and plot from finished variants.") var plotOnly = false

    func run() throws {
        let sweep: Sweep
        do {
            let g = try SweepGrid(contentsOf: URL(fileURLWithPath: grid))
            let printer = ProgressPrinter()
            sweep = Sweep(grid: g, output: URL(fileURLWithPath: out), log: { printer.line($0) })
        } catch let e as SweepGrid.Invalid { throw ValidationError(e.description) }
        if list {
            for v in sweep.grid.variants {
                let done = (try? sweep.finishedReport(v)) != nil ? "done" : "todo"
                print("\(done)  \(v.name)")
            }
            return
        }
        if plotOnly {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let results = try sweep.writeResults()
            print("wrote \(out)/results.csv, results.json, plot.svg (\(results.count) variants)")
            return
        }
        let printer = ProgressPrinter()
        let results = try sweep.run(only: Set(only)) { request, dir in
            let runner = SurgeonRunner(log: { printer.line("  " + $0) })
            return try runner.run(request, outputDirectory: dir, progress: { printer.progress($0) }, isCancelled: { false })
        }
        for r in results {
            let pts = r.points.map { String(format: "%.0f%% %.2f", $0.achievedSparsity * 100, $0.perplexity) }.joined(separator: "  ")
            printer.line(String(format: "%@: %@  (%.0f s)", r.variant, pts, r.seconds))
        }
        printer.line("wrote \(out)/results.csv, results.json, plot.svg")
    }
}
