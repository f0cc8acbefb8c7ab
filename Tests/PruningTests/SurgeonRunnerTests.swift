import Foundation
import XCTest
@testable import Pruning

/// The multi-shot runner on the real model (release test run; the model comes from scripts/setup.sh).
final class SurgeonRunnerTests: XCTestCase {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
    static var modelPath: String { root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path }
    static var calibration: String { root.appendingPathComponent("../shared/data/wikitext2/valid.tokens").standardized.path }

    func request(_ structure: PruneRequest.Structure, sparsity: Double = 0.1) throws -> PruneRequest {
        guard FileManager.default.fileExists(atPath: Self.modelPath) else {
            throw XCTSkip("SmolLM2 not installed; run scripts/setup.sh")
        }
        return PruneRequest(model: Self.modelPath, structure: structure, method: .llmSurgeon, sparsity: sparsity, shots: 2,
                            calibration: Self.calibration, samples: 1, seqlen: 24, seed: 100)
    }

    func tempDir(_ name: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-\(name)-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// A run cancelled after its first shot and resumed gives byte-identical weights to an uninterrupted run,
    /// and every FFN neuron / head it removes is whole (coupled structure).
    func testResume_AfterCancelledShot_GivesIdenticalModel() throws {
        let req = try request(.coupled)
        let full = tempDir("full"), resumed = tempDir("resumed")
        let reportFull = try SurgeonRunner().run(req, outputDirectory: full, progress: { _ in }, isCancelled: { false })
        XCTAssertEqual(reportFull.shots.count, 2)
        XCTAssertEqual(reportFull.achievedSparsity, 0.1, accuracy: 0.01)

        final class Flag: @unchecked Sendable { var shot2 = false }
        let flag = Flag()
        XCTAssertThrowsError(try SurgeonRunner().run(req, outputDirectory: resumed, progress: { p in
            if p.shot == 2 { flag.shot2 = true }
        }, isCancelled: { flag.shot2 })) { XCTAssertTrue($0 is PruneCancelled) }
        XCTAssertEqual(ShotCheckpoint.finishedShots(in: resumed).map(\.shot), [1])

        let reportResumed = try SurgeonRunner().run(req, outputDirectory: resumed, progress: { _ in }, isCancelled: { false })
        XCTAssertEqual(reportResumed.shots.map(\.shot), [1, 2])
        let a = try Data(contentsOf: full.appendingPathComponent("model.safetensors"))
        let b = try Data(contentsOf: resumed.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(a.count, b.count)
        XCTAssertTrue(a == b, "resumed model differs from the uninterrupted one")
        XCTAssertEqual(reportFull.removedParameters, reportResumed.removedParameters)
    }

    func testStructuredShot_ReachesTarget_AndWritesReport() throws {
        let req = try request(.structured, sparsity: 0.06)
        let out = tempDir("structured")
        let report = try SurgeonRunner().run(req, outputDirectory: out, progress: { _ in }, isCancelled: { false })
        XCTAssertLessThanOrEqual(report.achievedSparsity, 0.06 + 0.005)
        XCTAssertGreaterThan(report.achievedSparsity, 0.05)
        XCTAssertEqual(report.layers.count, 210)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("report.json").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("config.json").path))
        XCTAssertEqual(report.parametersBefore, 134_515_008)
        // Defaults are named, and the diagnostics of every shot are there: the calibration loss the shot started
        // from, and the quadratic model's predicted increase for the change it applied.
        XCTAssertEqual(report.effective?.dampG, 0.1)
        XCTAssertEqual(report.effective?.dampA, 0.1)
        XCTAssertTrue(report.effective?.source.hasPrefix("default for structured") ?? false, "\(String(describing: report.effective))")
        for shot in report.shots {
            XCTAssertGreaterThan(shot.calibrationLoss ?? 0, 0.5)
            XCTAssertGreaterThan(shot.predictedIncrease ?? -1, 0)
            XCTAssertGreaterThan(shot.selectedCost ?? -1, 0)
        }
        XCTAssertGreaterThan(report.calibrationLossAfter ?? 0, report.shots[0].calibrationLoss ?? .infinity,
                             "pruning 6 % raises the calibration loss")
    }

    func testRun_RejectsCalibrationShorterThanOneSequence() throws {
        var req = try request(.structured)
        let short = tempDir("short")
        try FileManager.default.createDirectory(at: short, withIntermediateDirectories: true)
        let text = short.appendingPathComponent("tiny.txt")
        try "just a few words".write(to: text, atomically: true, encoding: .utf8)
        req.calibration = text.path
        XCTAssertThrowsError(try SurgeonRunner().run(req, outputDirectory: short.appendingPathComponent("out"), progress: { _ in }, isCancelled: { false })) { error in
            XCTAssertTrue("\(error)".contains("fewer than one sequence"), "\(error)")
        }
    }
}
