import Foundation
import XCTest
@testable import Experiments
@testable import Pruning

/// Files a request's validation can find (it checks that the model and texts exist and are readable).
enum Files {
    static let dir: URL = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-sweep-files-\(getpid())")
        try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        for f in ["m.gguf", "c.txt", "e.txt"] { try? Data("x".utf8).write(to: d.appendingPathComponent(f)) }
        return d
    }()
    static func path(_ f: String) -> String { dir.appendingPathComponent(f).path }
}

final class SweepGridTests: XCTestCase {
    let base = #"{"model": "\#(Files.path("m.gguf"))", "calibration": "\#(Files.path("c.txt"))", "sparsity": 0.3, "shots": 6}"#

    func testVariants_OverrideBase_AndGridMultipliesThem() throws {
        let json = #"{"base": \#(base), "variants": [{"name": "kobd", "method": "kobd"}, {"name": "s", "method": "llm-surgeon"}], "grid": {"damp_g": [0.01, 0.1]}}"#
        let g = try SweepGrid(json: Data(json.utf8))
        XCTAssertEqual(g.variants.map(\.name), ["kobd-damp_g=0.01", "kobd-damp_g=0.1", "s-damp_g=0.01", "s-damp_g=0.1"])
        XCTAssertEqual(g.variants[0].request.method, .kobd)
        XCTAssertEqual(g.variants[3].request.method, .llmSurgeon)
        XCTAssertEqual(g.variants[3].request.dampG, 0.1)
        XCTAssertEqual(g.variants[3].request.sparsity, 0.3)
        XCTAssertEqual(g.variants[3].request.shots, 6)
        XCTAssertFalse(g.keepModels)
    }

    func testUnnamedVariant_IsNamedAfterItsFields() throws {
        let g = try SweepGrid(json: Data(#"{"base": \#(base), "variants": [{"damp_a": 0.1, "method": "kobd"}]}"#.utf8))
        XCTAssertEqual(g.variants.map(\.name), ["damp_a=0.1,method=kobd"])
    }

    func testUnknownField_IsAnError_NotSilentlyIgnored() {
        let json = #"{"base": \#(base), "variants": [{"name": "x", "damp-g": 0.1}]}"#
        XCTAssertThrowsError(try SweepGrid(json: Data(json.utf8))) { XCTAssertTrue("\($0)".contains("unknown field \"damp-g\""), "\($0)") }
    }

    func testInvalidRequest_NamesTheVariant() {
        let json = #"{"base": \#(base), "variants": [{"name": "bad", "sparsity": 1.5}]}"#
        XCTAssertThrowsError(try SweepGrid(json: Data(json.utf8))) { XCTAssertTrue("\($0)".contains("variant bad"), "\($0)") }
    }

    func testDuplicateAndUnsafeNames_AreErrors() {
        let dup = #"{"base": \#(base), "variants": [{"name": "a"}, {"name": "a"}]}"#
        XCTAssertThrowsError(try SweepGrid(json: Data(dup.utf8))) { XCTAssertTrue("\($0)".contains("two variants"), "\($0)") }
        let unsafe = #"{"base": \#(base), "variants": [{"name": "../x"}]}"#
        XCTAssertThrowsError(try SweepGrid(json: Data(unsafe.utf8))) { XCTAssertTrue("\($0)".contains("must use only"), "\($0)") }
    }

    func testMissingRequiredField_IsNamed() {
        XCTAssertThrowsError(try SweepGrid(json: Data(#"{"variants": [{"name": "a", "model": "m"}]}"#.utf8))) {
            XCTAssertTrue("\($0)".contains("missing field"), "\($0)")
        }
    }
}

final class SweepTests: XCTestCase {
    func tempDir() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-sweep-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func grid(_ dampValues: [Double]) throws -> SweepGrid {
        let vals = dampValues.map { "\($0)" }.joined(separator: ", ")
        let json = #"{"base": {"model": "\#(Files.path("m.gguf"))", "calibration": "\#(Files.path("c.txt"))", "sparsity": 0.3, "shots": 3, "eval": "\#(Files.path("e.txt"))"}, "variants": [{"name": "s"}], "grid": {"damp_g": [\#(vals)]}}"#
        return try SweepGrid(json: Data(json.utf8))
    }

    /// A stand-in runner: perplexity grows with sparsity and with damping; counts its calls and checks that the
    /// dense perplexity measured by the first variant is handed to the later ones.
    final class FakeRunner: @unchecked Sendable {
        var calls: [String] = []
        var denseSeeded: [Bool] = []
        func run(_ r: PruneRequest, _ dir: URL) throws -> PruneReport {
            calls.append(dir.lastPathComponent)
            let dense = dir.appendingPathComponent("checkpoints/dense.json")
            denseSeeded.append(FileManager.default.fileExists(atPath: dense.path))
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("checkpoints/shot-1"), withIntermediateDirectories: true)
            try Data("w".utf8).write(to: dir.appendingPathComponent("checkpoints/shot-1/weights.safetensors"))
            try Data("m".utf8).write(to: dir.appendingPathComponent("model.safetensors"))
            let shots = (1...r.shots).map { t in
                PruneReport.Shot(shot: t, targetSparsity: Double(t) * 0.1, achievedSparsity: Double(t) * 0.1,
                                 perplexity: 20 * (1 + Double(t) * (1 + (r.dampG ?? 0))), seconds: ["curvature": 2, "prune": 1, "eval": 5])
            }
            let report = PruneReport(request: r, prunableParameters: 100, removedParameters: 30, parametersBefore: 200,
                                     parametersAfter: 170, perplexityBefore: 20, perplexityAfter: shots.last?.perplexity,
                                     evaluation: nil, layers: [], shots: shots, seconds: ["load": 1], peakRSSBytes: 1 << 30,
                                     artifacts: [])
            try JSONEncoder().encode(report).write(to: dir.appendingPathComponent("report.json"))
            return report
        }
    }

    func testSweep_RunsEachVariantOnce_ResumesAndWritesTablePlot() throws {
        let out = tempDir()
        let fake = FakeRunner()
        let sweep = Sweep(grid: try grid([0.01, 0.1]), output: out)
        let results = try sweep.run(using: fake.run)
        XCTAssertEqual(fake.calls, ["s-damp_g=0.01", "s-damp_g=0.1"])
        XCTAssertEqual(fake.denseSeeded, [false, true], "the dense perplexity is measured once")
        XCTAssertEqual(results.map(\.points.count), [3, 3])
        XCTAssertEqual(results[0].points[1].seconds, 6, accuracy: 1e-9, "cumulative, evaluation excluded")

        // Finished variants are skipped; a new grid value runs alone; models of finished variants are dropped.
        let again = try Sweep(grid: try grid([0.01, 0.1, 1.0]), output: out).run(using: fake.run)
        XCTAssertEqual(fake.calls, ["s-damp_g=0.01", "s-damp_g=0.1", "s-damp_g=1.0"])
        XCTAssertEqual(again.count, 3)
        let dir = out.appendingPathComponent("runs/s-damp_g=0.1")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.safetensors").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("checkpoints/shot-1/weights.safetensors").path))

        let csv = try String(contentsOf: out.appendingPathComponent("results.csv"), encoding: .utf8)
        let rows = csv.split(separator: "\n")
        XCTAssertEqual(rows.count, 1 + 9)
        XCTAssertTrue(rows[0].hasPrefix("variant,structure,method"))
        XCTAssertTrue(rows[3].hasPrefix("s-damp_g=0.01,structured,llm-surgeon,16,512,3,0.01,default,sequential,0,3,0.3000,0.3000,80.6000,20.0000,9.0,1.00"), String(rows[3]))
        let svg = try String(contentsOf: out.appendingPathComponent("plot.svg"), encoding: .utf8)
        XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 3, "one line per variant")
        XCTAssertTrue(svg.contains(">s-damp_g=1.0<"))
        XCTAssertTrue(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        let json = try JSONDecoder().decode([SweepResult].self, from: Data(contentsOf: out.appendingPathComponent("results.json")))
        XCTAssertEqual(json, again)
    }

    func testSweep_ChangedVariantUnderSameName_IsAnError() throws {
        let out = tempDir()
        let fake = FakeRunner()
        try Sweep(grid: try grid([0.01]), output: out).run(using: fake.run)
        let changed = try SweepGrid(json: Data(#"{"base": {"model": "\#(Files.path("m.gguf"))", "calibration": "\#(Files.path("c.txt"))", "sparsity": 0.2, "shots": 3}, "variants": [{"name": "s-damp_g=0.01", "damp_g": 0.01}]}"#.utf8))
        XCTAssertThrowsError(try Sweep(grid: changed, output: out).run(using: fake.run)) {
            XCTAssertTrue("\($0)".contains("changed since"), "\($0)")
        }
        XCTAssertEqual(fake.calls.count, 1)
    }

    func testSweep_OnlyUnknownVariant_IsAnError() throws {
        XCTAssertThrowsError(try Sweep(grid: try grid([0.01]), output: tempDir()).run(only: ["nope"], using: FakeRunner().run)) {
            XCTAssertTrue("\($0)".contains("no variant named \"nope\""), "\($0)")
        }
    }

    /// The real runner on the real model, tiny settings: a dev split of the calibration text, resumable.
    func testSweep_RealModel_DevSplitHeldOutOfCalibration() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let model = root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        guard FileManager.default.fileExists(atPath: model) else { throw XCTSkip("SmolLM2 not installed; run scripts/setup.sh") }
        let valid = root.appendingPathComponent("../shared/data/wikitext2/valid.tokens").standardized.path
        let json = """
        {"base": {"model": "\(model)", "calibration": "\(valid)", "sparsity": 0.1, "shots": 2, "samples": 1, "seqlen": 24,
                  "eval": "\(valid)", "eval_offset": 1000, "eval_windows": 1, "eval_seqlen": 64},
         "variants": [{"name": "kobd", "method": "kobd"}, {"name": "magnitude", "method": "magnitude"}]}
        """
        let out = tempDir()
        var lines: [String] = []
        let sweep = Sweep(grid: try SweepGrid(json: Data(json.utf8)), output: out)
        final class Box: @unchecked Sendable { var lines: [String] = [] }
        let box = Box()
        let results = try sweep.run { r, dir in
            try SurgeonRunner(log: { box.lines.append($0) }).run(r, outputDirectory: dir, progress: { _ in }, isCancelled: { false })
        }
        lines = box.lines
        XCTAssertEqual(results.map(\.variant), ["kobd", "magnitude"])
        XCTAssertEqual(results.map { $0.points.map(\.shot) }, [[1, 2], [1, 2]])
        XCTAssertTrue(results.allSatisfy { ($0.densePerplexity ?? 0) > 1 && $0.points.allSatisfy { $0.perplexity.isFinite } })
        XCTAssertEqual(results[0].densePerplexity, results[1].densePerplexity)
        XCTAssertTrue(lines.contains { $0.contains("dev split: tokens 1000..<1064") }, lines.joined(separator: "\n"))
    }
}
