import ArgumentParser
import Checkpoint
import Foundation
import Pruning

/// `surgeon plan`: the memory plan of a prune (peak bytes by phase, disk, the mode chosen) without running it.
struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the memory plan of a prune (peak bytes per phase, disk, in-memory or streamed) without running it.")

    @OptionGroup var options: RequestOptions
    @Flag(name: .long, help: "Print the plan as JSON.") var json = false
    @Option(name: .long, help: "Also check the disk bytes against the free space of this output directory.") var out: String?

    func run() throws {
        let request = try options.request()
        do { try request.validate() } catch let e as PruneRequest.Invalid { throw ValidationError(e.description) }
        let header = try CheckpointLoader.header(path: request.model)
        let plan = MemoryPlan.estimate(config: header.config, request: request, fileBytes: header.fileBytes,
                                       linearsAreF16: header.linearsAreF16)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(plan), as: UTF8.self))
        } else {
            print("mode \(plan.mode.rawValue), \(plan.weights.rawValue) weights: \(plan.reason)")
            print("budget \(MemoryPlan.bytes(plan.budgetBytes)), peak \(MemoryPlan.bytes(plan.peakBytes)), minimum \(MemoryPlan.bytes(plan.minimumBytes)) (in memory \(MemoryPlan.bytes(plan.inMemoryPeakBytes))\(plan.streamedPeakBytes.map { ", streamed \(MemoryPlan.bytes($0))" } ?? ""))")
            for p in plan.phases { print(String(format: "  %-10@ %10@  %@", p.name, MemoryPlan.bytes(p.bytes), p.detail)) }
            print("disk \(MemoryPlan.bytes(plan.disk.totalBytes)): spill \(MemoryPlan.bytes(plan.disk.spillBytes)), checkpoints \(MemoryPlan.bytes(plan.disk.checkpointBytes)), output \(MemoryPlan.bytes(plan.disk.outputBytes))")
        }
        // The same refusals `prune` makes before any work: a budget under the minimum, a disk too small.
        _ = try MemoryPlan.make(config: header.config, request: request, fileBytes: header.fileBytes, linearsAreF16: header.linearsAreF16)
        if let out { try plan.checkDisk(at: URL(fileURLWithPath: out)) }
    }
}
