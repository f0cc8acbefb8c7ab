import Foundation
import XCTest
@testable import Checkpoint
@testable import Pruning

/// `MemoryPlan`: the mode it chooses, its refusals, and its figures against peaks measured on the real model.
final class MemoryPlanTests: XCTestCase {
    /// Llama-2-7B's dimensions (hidden 4096, FFN 11008, 32 blocks, 32 heads, vocab 32000).
    static let llama7B = ModelConfig(architecture: .llama, vocabSize: 32000, hiddenSize: 4096, intermediateSize: 11008,
                                     numLayers: 32, numHeads: 32, numKVHeads: 32, headDim: 128, maxPositions: 4096,
                                     normEps: 1e-5, ropeTheta: 10000, tieWordEmbeddings: false)

    func request(_ structure: PruneRequest.Structure = .structured, method: PruneRequest.Method = .llmSurgeon,
                 budget: Int? = nil) -> PruneRequest {
        PruneRequest(model: "m.gguf", structure: structure, method: method, sparsity: structure == .semi24 ? 0.5 : 0.3,
                     calibration: "c.txt", samples: 4, seqlen: 256, memoryBudget: budget)
    }

    func testSevenB_ChoosesStreamed_AndCountsDisk() throws {
        let big = MemoryPlan.estimate(config: Self.llama7B, request: request(budget: 1 << 40), fileBytes: 13 << 30)
        XCTAssertEqual(big.mode, .inMemory)
        XCTAssertEqual(big.parameters, 6_738_415_616)  // Llama-2-7B's published parameter count
        let small = try MemoryPlan.make(config: Self.llama7B, request: request(budget: 40 << 30), fileBytes: 13 << 30)
        XCTAssertEqual(small.mode, .streamed)
        XCTAssertLessThanOrEqual(small.peakBytes, 40 << 30)
        XCTAssertGreaterThan(big.inMemoryPeakBytes, 100 << 30, "every layer's factors and inverses of a 7B model exceed 100 GiB")
        // 1024 tokens × (distinct inputs + output widths) × 32 blocks × 2 bytes.
        let perBlock = 3 * 4096 + 11008 + (4 * 4096 + 2 * 11008 + 4096)
        XCTAssertEqual(small.disk.spillBytes, 1024 * perBlock * 32 * 2)
        XCTAssertEqual(big.disk.spillBytes, 0)
    }

    func testBudgetBelowMinimum_NamesTheMinimum() throws {
        XCTAssertThrowsError(try MemoryPlan.make(config: Self.llama7B, request: request(budget: 1 << 30), fileBytes: 0)) { e in
            let text = "\(e)"
            let plan = MemoryPlan.estimate(config: Self.llama7B, request: request(budget: 1 << 30), fileBytes: 0)
            XCTAssertTrue(text.contains("below the minimum \(MemoryPlan.bytes(plan.minimumBytes))"), text)
            XCTAssertTrue(text.contains("--memory-budget"), text)
        }
        // Unstructured cannot stream: its minimum is the in-memory peak, and the error says why.
        XCTAssertThrowsError(try MemoryPlan.make(config: Self.llama7B, request: request(.unstructured, budget: 20 << 30), fileBytes: 0)) { e in
            XCTAssertTrue("\(e)".contains("streamed mode supports structured pruning only"), "\(e)")
        }
    }

    /// A plan whose disk bytes exceed the free space is refused before any work, saying what it writes.
    func testDiskTooSmall_IsRefused() throws {
        var r = request(budget: 40 << 30)
        r.keepCheckpoints = true
        r.shots = 1000  // 1000 kept 7B checkpoints: terabytes
        let plan = try MemoryPlan.make(config: Self.llama7B, request: r, fileBytes: 0)
        XCTAssertGreaterThan(plan.disk.checkpointBytes, 1 << 40)
        XCTAssertThrowsError(try plan.checkDisk(at: FileManager.default.temporaryDirectory)) { e in
            XCTAssertTrue("\(e)".contains("not enough disk for this prune"), "\(e)")
            XCTAssertTrue("\(e)".contains("checkpoints"), "\(e)")
        }
        var small = Self.llama7B
        small.numLayers = 2; small.hiddenSize = 64; small.intermediateSize = 128; small.numHeads = 4; small.numKVHeads = 4; small.headDim = 16
        XCTAssertNoThrow(try MemoryPlan.make(config: small, request: request(budget: 1 << 30), fileBytes: 0)
            .checkDisk(at: FileManager.default.temporaryDirectory.appendingPathComponent("not-yet-created/x")))
    }

    /// Magnitude and Wanda hold no dense identity factors; SparseGPT holds every layer's input Hessian, not one.
    func testBaselines_FactorBytes() {
        let mag = MemoryPlan.estimate(config: Self.llama7B, request: request(method: .magnitude), fileBytes: 0)
        let wanda = MemoryPlan.estimate(config: Self.llama7B, request: request(.unstructured, method: .wanda), fileBytes: 0)
        let sgpt = MemoryPlan.estimate(config: Self.llama7B, request: request(.unstructured, method: .sparsegpt), fileBytes: 0)
        let weights = 6_738_415_616 * 4
        let curvature = { (p: MemoryPlan) in p.phases.first { $0.name == "curvature" }!.bytes }
        XCTAssertLessThan(curvature(mag) - weights, 1 << 30)
        let aPerBlock = 3 * 4096 * 4096 + 11008 * 11008
        XCTAssertGreaterThanOrEqual(curvature(sgpt) - weights, 32 * aPerBlock * 4)
        XCTAssertEqual(curvature(wanda), curvature(sgpt))
        XCTAssertEqual(SymmetricFactor.identity(4096).bytes, 0)
        XCTAssertEqual(SymmetricFactor.identity(3).diagonal, [1, 1, 1])
        XCTAssertEqual(SymmetricFactor.identity(2).data, [1, 0, 0, 1])
    }

    /// Plan against the peaks measured per phase on SmolLM2 (4 × 256 calibration tokens, one shot), in both modes.
    /// Each prune runs as its own `surgeon prune` process: this test process holds what earlier tests left.
    /// Tolerance: ±15 % on the overall peak, the target; every phase is printed.
    func testPlan_MatchesMeasuredPeak_OnSmolLM2() throws {
        guard FileManager.default.fileExists(atPath: SurgeonRunnerTests.modelPath) else { throw XCTSkip("SmolLM2 not installed") }
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("surgeon")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw XCTSkip("no surgeon binary at \(binary.path) (swift build --build-tests builds it)")
        }
        for streamed in [false, true] {
            let r = PruneRequest(model: SurgeonRunnerTests.modelPath, structure: .structured, sparsity: 0.05, shots: 1,
                                 calibration: SurgeonRunnerTests.calibration, samples: 4, seqlen: 256)
            let h = try CheckpointLoader.header(path: r.model)
            let full = MemoryPlan.estimate(config: h.config, request: r, fileBytes: h.fileBytes)
            let budget = streamed ? full.streamedPeakBytes! + (full.inMemoryPeakBytes - full.streamedPeakBytes!) / 4 : 16 << 30
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-plan-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: out) }
            let p = Process()
            p.executableURL = binary
            p.arguments = ["prune", "--model", r.model, "--structure", "structured", "--sparsity", "0.05", "--shots", "1",
                           "--samples", "4", "--seqlen", "256", "--calibration", r.calibration, "--memory-budget", String(budget),
                           "--out", out.path]
            p.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try p.run()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0)
            let report = try JSONDecoder().decode(PruneReport.self, from: Data(contentsOf: out.appendingPathComponent("report.json")))
            let memory = try XCTUnwrap(report.memory)
            XCTAssertEqual(memory.plan.mode, streamed ? .streamed : .inMemory)
            for p in memory.plan.phases {
                let m = memory.measuredPeakBytes[p.name] ?? 0
                print(String(format: "plan %@ %@: planned %@, measured %@ (%+.1f %%)", memory.plan.mode.rawValue, p.name,
                             MemoryPlan.bytes(p.bytes), MemoryPlan.bytes(m), m == 0 ? 0 : (Double(p.bytes) / Double(m) - 1) * 100))
            }
            let measured = memory.measuredPeakBytes.values.max() ?? 0
            let ratio = Double(memory.plan.peakBytes) / Double(measured)
            print(String(format: "plan %@ overall: planned %@, measured %@, ratio %.3f (tolerance 0.85–1.15)", memory.plan.mode.rawValue,
                         MemoryPlan.bytes(memory.plan.peakBytes), MemoryPlan.bytes(measured), ratio))
            XCTAssertEqual(ratio, 1, accuracy: 0.15)
        }
    }
}
