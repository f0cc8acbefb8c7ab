import Checkpoint
import Foundation
import XCTest
@testable import Pruning

final class PruneRequestValidationTests: XCTestCase {
    func base() -> PruneRequest {
        PruneRequest(model: "/nonexistent/model.gguf", sparsity: 0.3, calibration: "/nonexistent/calib.txt")
    }

    func testValidate_ListsEveryBadFieldAtOnce() {
        var r = base()
        r.sparsity = 1.2; r.shots = 0; r.samples = 0; r.dampG = -1
        XCTAssertThrowsError(try r.validate(checkFiles: true)) { error in
            let e = error as! PruneRequest.Invalid
            XCTAssertTrue(e.errors.contains { $0.hasPrefix("sparsity:") })
            XCTAssertTrue(e.errors.contains { $0.hasPrefix("shots:") })
            XCTAssertTrue(e.errors.contains { $0.hasPrefix("samples:") })
            XCTAssertTrue(e.errors.contains { $0.hasPrefix("damp_g:") })
            XCTAssertTrue(e.errors.contains { $0.hasPrefix("model:") })
            XCTAssertTrue(e.errors.contains { $0.hasPrefix("calibration:") })
        }
    }

    func testValidate_RejectsZeroAndOneSparsity() {
        for s in [0.0, 1.0, -0.1, .nan] {
            var r = base(); r.sparsity = s
            XCTAssertThrowsError(try r.validate(checkFiles: false), "sparsity \(s)")
        }
    }

    func testValidate_RejectsWandaStructured_AndNonHalf24() {
        var r = base(); r.method = .wanda; r.structure = .structured
        XCTAssertThrowsError(try r.validate(checkFiles: false))
        r = base(); r.structure = .semi24; r.sparsity = 0.3
        XCTAssertThrowsError(try r.validate(checkFiles: false))
        r.sparsity = 0.5
        XCTAssertNoThrow(try r.validate(checkFiles: false))
    }

    func testDecoding_FillsDefaults_AndReadsUpdateOrder() throws {
        let json = #"{"model":"m.gguf","sparsity":0.2,"calibration":"c.txt","update_order":"sequential"}"#
        let r = try JSONDecoder().decode(PruneRequest.self, from: Data(json.utf8))
        XCTAssertEqual(r.shots, 6); XCTAssertEqual(r.samples, 16); XCTAssertEqual(r.seed, 100)
        XCTAssertEqual(r.structure, .structured); XCTAssertEqual(r.structuredOrder, .sequential)
        let back = try JSONDecoder().decode(PruneRequest.self, from: JSONEncoder().encode(r))
        XCTAssertEqual(back, r)
    }

    func testRefitIterations_OnlyForLLMSurgeonWithRowsColumnsOrElements() throws {
        for structure in [PruneRequest.Structure.structured, .unstructured, .semi24] {
            var r = base(); r.structure = structure; r.refitIterations = 20
            if structure == .semi24 { r.sparsity = 0.5 }
            XCTAssertNoThrow(try r.validate(checkFiles: false), "\(structure)")
        }
        var coupled = base(); coupled.structure = .coupled; coupled.refitIterations = 20
        var kobd = base(); kobd.method = .kobd; kobd.refitIterations = 20
        var tooMany = base(); tooMany.refitIterations = 1001
        for (r, words) in [(coupled, "already the minimum"), (kobd, "does not apply to kobd"), (tooMany, "0...1000")] {
            XCTAssertThrowsError(try r.validate(checkFiles: false)) { error in
                let e = error as! PruneRequest.Invalid
                XCTAssertTrue(e.errors.contains { $0.hasPrefix("refit_iterations:") && $0.contains(words) }, "\(e.errors)")
            }
        }
        let decoded = try JSONDecoder().decode(PruneRequest.self, from: Data(#"{"model":"m","sparsity":0.5,"calibration":"c","refit_iterations":7,"pair_cost":"joint"}"#.utf8))
        XCTAssertEqual(decoded.refitIterations, 7)
        XCTAssertEqual(decoded.pairCost, .joint)
        var jointStructured = base(); jointStructured.pairCost = .joint
        var jointTwoFour = base(); jointTwoFour.structure = .semi24; jointTwoFour.sparsity = 0.5; jointTwoFour.pairCost = .joint
        XCTAssertNoThrow(try jointTwoFour.validate(checkFiles: false))
        XCTAssertThrowsError(try jointStructured.validate(checkFiles: false)) { error in
            XCTAssertTrue((error as! PruneRequest.Invalid).errors.contains { $0.hasPrefix("pair_cost:") })
        }
    }

    func testAllocation_PerLayerOnlyWhereAGlobalThresholdSharesTheShot() throws {
        let decoded = try JSONDecoder().decode(PruneRequest.self, from: Data(#"{"model":"m","sparsity":0.5,"calibration":"c","structure":"2:4","allocation":"per_layer"}"#.utf8))
        XCTAssertEqual(decoded.allocation, .perLayer)
        XCTAssertEqual(try JSONDecoder().decode(PruneRequest.self, from: Data(#"{"model":"m","sparsity":0.5,"calibration":"c"}"#.utf8)).allocation, .global)
        XCTAssertNoThrow(try decoded.validate(checkFiles: false))
        for (structure, method, words) in [(PruneRequest.Structure.structured, PruneRequest.Method.llmSurgeon, "does not apply to structured"),
                                           (.coupled, .llmSurgeon, "does not apply to coupled"),
                                           (.unstructured, .wanda, "wanda already prunes every matrix")] {
            var r = base(); r.structure = structure; r.method = method; r.allocation = .perLayer
            XCTAssertThrowsError(try r.validate(checkFiles: false)) { error in
                let e = error as! PruneRequest.Invalid
                XCTAssertTrue(e.errors.contains { $0.hasPrefix("allocation:") && $0.contains(words) }, "\(e.errors)")
            }
        }
        var magnitude = base(); magnitude.structure = .unstructured; magnitude.method = .magnitude; magnitude.allocation = .perLayer
        XCTAssertNoThrow(try magnitude.validate(checkFiles: false))
        XCTAssertEqual(EffectiveSettings(request: decoded).allocation, .perLayer)
        XCTAssertNil(EffectiveSettings(request: base()).allocation, "structured: no allocation")
    }

    func testShotTargets_LinearIsTheOldFormula_TheOthersTakeSmallerStepsAtTheEnd() throws {
        var r = base(); r.sparsity = 0.5; r.shots = 5
        for t in 1...5 { XCTAssertEqual(r.shotTarget(t), Double(t) * 0.5 / 5) }
        r.schedule = .quadratic
        for (t, want) in zip(1...5, [0.18, 0.32, 0.42, 0.48, 0.5]) { XCTAssertEqual(r.shotTarget(t), want, accuracy: 1e-12) }
        r.schedule = .cubic
        XCTAssertEqual(r.shotTarget(1), 0.5 * (1 - 0.512), accuracy: 1e-12)
        XCTAssertEqual(r.shotTarget(5), 0.5)
        for schedule in PruneRequest.Schedule.allCases {
            r.schedule = schedule
            let steps = (1...5).map { r.shotTarget($0) - r.shotTarget($0 - 1) }
            XCTAssertTrue(steps.allSatisfy { $0 > 0 }, "\(schedule) \(steps)")
            if schedule != .linear { XCTAssertTrue(zip(steps, steps.dropFirst()).allSatisfy { $0 > $1 }, "\(schedule) \(steps)") }
        }
        let decoded = try JSONDecoder().decode(PruneRequest.self, from: Data(#"{"model":"m","sparsity":0.5,"calibration":"c","schedule":"cubic"}"#.utf8))
        XCTAssertEqual(decoded.schedule, .cubic)
    }

    func testBiasCompensation_OnlyForCoupledLLMSurgeonOnLlama() throws {
        var r = base(); r.biasCompensation = true
        XCTAssertEqual(r.fieldErrors(), ["bias_compensation: the OBS update of coupled llm-surgeon pruning writes the compensating biases; it does not apply to structured llm-surgeon"])
        r.structure = .coupled; r.method = .kobd
        XCTAssertEqual(r.fieldErrors().count, 1)
        r.method = .llmSurgeon
        XCTAssertEqual(r.fieldErrors(), [])
        func config(_ a: ModelConfig.Architecture) -> ModelConfig {
            ModelConfig(architecture: a, vocabSize: 16, hiddenSize: 8, intermediateSize: 12, numLayers: 1, numHeads: 2, numKVHeads: 1,
                        headDim: 4, maxPositions: 64, normEps: 1e-5, tieWordEmbeddings: true)
        }
        XCTAssertNoThrow(try r.validate(against: config(.llama)))
        XCTAssertThrowsError(try r.validate(against: config(.gemma3))) { e in
            XCTAssertTrue((e as! PruneRequest.Invalid).errors.first?.hasPrefix("bias_compensation: adds o_proj and down_proj biases") == true, "\(e)")
        }
        let json = #"{"model":"m.gguf","sparsity":0.2,"calibration":"c.txt","structure":"coupled","bias_compensation":true,"coupled_cost":"members"}"#
        let d = try JSONDecoder().decode(PruneRequest.self, from: Data(json.utf8))
        XCTAssertTrue(d.biasCompensation); XCTAssertEqual(d.coupledCost, .members)
        XCTAssertEqual(base().coupledCost, .outputs)
    }

    /// Every limit of `PruneRequest.Limits`: both bounds pass, one past each fails with `field: must be … got …`.
    func testLimits_AcceptTheBoundsAndRefuseOnePast() {
        typealias L = PruneRequest.Limits
        let ints: [(String, WritableKeyPath<PruneRequest, Int>, ClosedRange<Int>)] = [
            ("shots", \.shots, L.shots), ("samples", \.samples, L.samples), ("seqlen", \.seqlen, L.seqlen),
            ("eval_seqlen", \.evalSeqlen, L.evalSeqlen), ("max_correlate", \.maxCorrelate, L.maxCorrelate),
            ("lora_rank", \.loraRank, L.loraRank), ("lora_epochs", \.loraEpochs, L.loraEpochs),
            ("eval_offset", \.evalOffset, L.evalOffset), ("eval_every", \.evalEvery, L.evalEvery),
            ("uniform_multiple", \.uniformMultiple, L.uniformMultiple),
        ]
        for (field, path, range) in ints {
            for ok in [range.lowerBound, range.upperBound] {
                var r = base(); r[keyPath: path] = ok
                XCTAssertEqual(r.fieldErrors(), [], "\(field) \(ok)")
            }
            for bad in [range.lowerBound - 1, range.upperBound + 1] {
                var r = base(); r[keyPath: path] = bad
                XCTAssertEqual(r.fieldErrors(), ["\(field): must be an integer in \(range.lowerBound)...\(range.upperBound), got \(bad)"])
            }
        }
        var r = base(); r.seed = L.seed.upperBound
        XCTAssertEqual(r.fieldErrors(), [])
        r.seed += 1
        XCTAssertEqual(r.fieldErrors(), ["seed: must be an integer in 0...2147483647, got 2147483648"])
        r = base(); r.eval = "e.txt"; r.evalWindows = L.evalWindows.upperBound
        XCTAssertEqual(r.fieldErrors(), [])
        r.evalWindows = 0
        XCTAssertEqual(r.fieldErrors(), ["eval_windows: must be an integer in 1...100000, got 0"])
        for d in [0.0, 1e6] { r = base(); r.dampG = d; r.dampA = d; XCTAssertEqual(r.fieldErrors(), [], "damping \(d)") }
        r = base(); r.dampA = 1e6 + 1
        XCTAssertEqual(r.fieldErrors(), ["damp_a: must be a number in 0.0...1000000.0, got 1000001.0"])
        r = base(); r.memoryBudget = L.memoryBudget.lowerBound
        XCTAssertEqual(r.fieldErrors(), [])
        r.memoryBudget = L.memoryBudget.lowerBound - 1
        XCTAssertEqual(r.fieldErrors().count, 1)
        for s in [1e-9, 1 - 1e-9] { r = base(); r.sparsity = s; XCTAssertEqual(r.fieldErrors(), [], "sparsity \(s)") }
    }
}
