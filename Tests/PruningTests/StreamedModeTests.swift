import Foundation
import XCTest
@testable import Checkpoint
@testable import Pruning
import Tensor

/// The streamed mode (`MemoryPlan.Mode.streamed`) against the in-memory mode on the real model.
final class StreamedModeTests: XCTestCase {
    func request(budget: Int?, spill: ActivationSpill.Precision = .f32, method: PruneRequest.Method = .llmSurgeon) throws -> PruneRequest {
        guard FileManager.default.fileExists(atPath: SurgeonRunnerTests.modelPath) else {
            throw XCTSkip("SmolLM2 not installed; run scripts/setup.sh")
        }
        return PruneRequest(model: SurgeonRunnerTests.modelPath, structure: .structured, method: method, sparsity: 0.1, shots: 2,
                            calibration: SurgeonRunnerTests.calibration, samples: 2, seqlen: 32, seed: 100,
                            memoryBudget: budget, spillPrecision: spill)
    }

    func tempDir(_ name: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("surgeon-\(name)-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// The largest streamed peak is far below the in-memory one on SmolLM2, so a budget between them forces streaming.
    func streamedBudget(_ r: PruneRequest) throws -> Int {
        let h = try CheckpointLoader.header(path: r.model)
        let plan = MemoryPlan.estimate(config: h.config, request: r, fileBytes: h.fileBytes)
        let streamed = try XCTUnwrap(plan.streamedPeakBytes)
        XCTAssertLessThan(streamed, plan.inMemoryPeakBytes)
        return (streamed + plan.inMemoryPeakBytes) / 2
    }

    func weights(_ dir: URL) throws -> [String: [Float]] {
        let f = try SafetensorsFile(path: dir.appendingPathComponent("model.safetensors").path)
        var out: [String: [Float]] = [:]
        for info in f.tensors where info.name.contains(".layers.") && info.name.hasSuffix("_proj.weight") { out[info.name] = try f.tensor(info).data }
        return out
    }

    /// Streamed with an exact spill = in memory, bit for bit (same masks, max |Δw| = 0), over two shots; with a bf16
    /// spill the masks agree almost everywhere and the weights closely.
    func testStreamed_EqualsInMemory_OnTwoShots() throws {
        let base = try request(budget: nil)
        let budget = try streamedBudget(base)
        let inMem = tempDir("inmem"), exact = tempDir("streamed-f32"), half = tempDir("streamed-bf16")
        let r0 = try SurgeonRunner().run(base, outputDirectory: inMem, progress: { _ in }, isCancelled: { false })
        XCTAssertEqual(r0.memory?.plan.mode, .inMemory)
        let r1 = try SurgeonRunner().run(try request(budget: budget), outputDirectory: exact, progress: { _ in }, isCancelled: { false })
        XCTAssertEqual(r1.memory?.plan.mode, .streamed)
        XCTAssertFalse(FileManager.default.fileExists(atPath: exact.appendingPathComponent("spill").path), "the spill outlived its shot")
        let r2 = try SurgeonRunner().run(try request(budget: budget, spill: .bf16), outputDirectory: half, progress: { _ in }, isCancelled: { false })

        let w0 = try weights(inMem), w1 = try weights(exact), w2 = try weights(half)
        XCTAssertEqual(w0.count, 210)
        var exactDelta: Float = 0, halfDelta: Float = 0, maskDiffer = 0, total = 0
        for (name, a) in w0 {
            let b = try XCTUnwrap(w1[name]), c = try XCTUnwrap(w2[name])
            for i in a.indices {
                exactDelta = max(exactDelta, abs(a[i] - b[i]))
                halfDelta = max(halfDelta, abs(a[i] - c[i]))
                if (a[i] == 0) != (c[i] == 0) { maskDiffer += 1 }
                total += 1
            }
        }
        print("streamed vs in-memory, 2 shots structured 10 %: f32 spill max |Δw| = \(exactDelta); bf16 spill max |Δw| = \(halfDelta), masks differ at \(maskDiffer) of \(total) weights")
        XCTAssertEqual(exactDelta, 0, "an exact spill must give the in-memory model bit for bit")
        XCTAssertEqual(r0.removedParameters, r1.removedParameters)
        XCTAssertEqual(r0.shots.map(\.achievedSparsity), r1.shots.map(\.achievedSparsity))
        XCTAssertLessThan(Double(maskDiffer), 0.01 * Double(total), "bf16 spill changed more than 1 % of the mask")
        XCTAssertEqual(r2.achievedSparsity, r0.achievedSparsity, accuracy: 0.005)
    }

    /// A budget that fp32 weights do not fit holds the decoder Linears in bf16 (SmolLM2's Q4_1 has no f16 to keep):
    /// the plan says so, the checkpoint is bf16 (half the bytes), the weights written are bf16-representable and
    /// the pruned model stays close to the fp32 run (both streamed, exact spill).
    func testHalfWeights_WhenFP32DoesNotFit() throws {
        var r = try request(budget: nil)
        r.shots = 1
        let h = try CheckpointLoader.header(path: r.model)
        XCTAssertFalse(h.linearsAreF16)
        let probe = MemoryPlan.estimate(config: h.config, request: r, fileBytes: h.fileBytes, budget: 1 << 20)
        let half = probe.minimumBytes
        r.memoryBudget = half + (1 << 20)
        let plan = MemoryPlan.estimate(config: h.config, request: r, fileBytes: h.fileBytes)
        XCTAssertEqual(plan.mode, .streamed)
        XCTAssertEqual(plan.weights, .bf16)
        let out16 = tempDir("bf16"), out32 = tempDir("fp32")
        let r16 = try SurgeonRunner().run(r, outputDirectory: out16, progress: { _ in }, isCancelled: { false })
        var r32req = r
        r32req.memoryBudget = try streamedBudget(r)
        let r32 = try SurgeonRunner().run(r32req, outputDirectory: out32, progress: { _ in }, isCancelled: { false })
        XCTAssertEqual(r16.memory?.plan.weights, .bf16)
        XCTAssertEqual(r32.memory?.plan.weights, .f32)
        let ck16 = try SafetensorsFile(path: ShotCheckpoint.shotDirectory(out16, shot: 1).appendingPathComponent("weights.safetensors").path)
        XCTAssertEqual(Set(ck16.tensors.filter { $0.name.hasSuffix("_proj.weight") }.map(\.dtype.rawValue)), ["BF16"])
        let w16 = try weights(out16), w32 = try weights(out32)
        var worst: Float = 0, notBF16 = 0
        for (name, a) in w16 {
            let b = try XCTUnwrap(w32[name])
            for i in a.indices {
                if a[i].bitPattern & 0xFFFF != 0 { notBF16 += 1 }  // bf16 keeps the high 16 bits only
                worst = max(worst, abs(a[i] - b[i]))
            }
        }
        print("bf16 weights vs fp32 weights (streamed, 1 shot 10 %): max |Δw| = \(worst); achieved \(r16.achievedSparsity) vs \(r32.achievedSparsity); measured peak \(r16.memory!.measuredPeakBytes.values.max()! >> 20) vs \(r32.memory!.measuredPeakBytes.values.max()! >> 20) MiB")
        XCTAssertEqual(notBF16, 0, "a 16-bit model wrote weights that bf16 cannot hold")
        XCTAssertEqual(r16.achievedSparsity, r32.achievedSparsity, accuracy: 0.005)
        XCTAssertLessThan(r16.memory!.measuredPeakBytes.values.max()!, r32.memory!.measuredPeakBytes.values.max()!)
    }

    /// Only the last finished shot keeps its weights unless asked otherwise; its record stays for the report.
    func testCheckpoints_OnlyLastShotKeepsWeights() throws {
        let out = tempDir("ck")
        _ = try SurgeonRunner().run(try request(budget: nil, method: .magnitude), outputDirectory: out, progress: { _ in }, isCancelled: { false })
        let fm = FileManager.default
        XCTAssertFalse(fm.fileExists(atPath: ShotCheckpoint.shotDirectory(out, shot: 1).appendingPathComponent("weights.safetensors").path))
        XCTAssertTrue(fm.fileExists(atPath: ShotCheckpoint.shotDirectory(out, shot: 1).appendingPathComponent("checkpoint.json").path))
        XCTAssertTrue(fm.fileExists(atPath: ShotCheckpoint.shotDirectory(out, shot: 2).appendingPathComponent("weights.safetensors").path))
        XCTAssertEqual(ShotCheckpoint.finishedShots(in: out).map(\.shot), [1, 2])
    }

    /// A spill rebuilds the factor the accumulator builds directly from the same rows, bit for bit: the rows
    /// themselves (f32), or the rows rounded to bf16 (bf16).
    func testSpill_RebuildsFactors() throws {
        let n = 7, blocks = [5, 3, 9]
        var rng = SystemRandomNumberGenerator()
        let data = blocks.map { t in (0..<(t * n)).map { _ in Float.random(in: -2...2, using: &rng) } }
        for precision in ActivationSpill.Precision.allCases {
            let direct = KFACAccumulator(dimension: n)
            for (t, x) in zip(blocks, data) {
                direct.add(precision == .f32 ? x : x.map { bfloat16ToFloat(floatToBFloat16($0)) }, tokens: t)
            }
            let want = direct.finalize().data
            let spill = try ActivationSpill(directory: tempDir("spill-\(precision)"), precision: precision)
            for (t, x) in zip(blocks, data) { try x.withUnsafeBufferPointer { try spill.append("a0", $0.baseAddress!, rows: t, width: n) } }
            XCTAssertEqual(spill.bytesWritten, blocks.reduce(0, +) * n * precision.bytes)
            let acc = KFACAccumulator(dimension: n)
            try spill.accumulate("a0", into: acc)
            let got = acc.finalize().data
            XCTAssertEqual(got, want, "\(precision)")
            spill.remove()
            XCTAssertFalse(FileManager.default.fileExists(atPath: spill.directory.path))
        }
    }

    /// With a factor store, the streamed mode's first pass keeps every inverse and the second reads each back
    /// instead of inverting again: the pruned weights equal those of a run without the store bit for bit, every
    /// inverse is stored once and read once, and a shared `A` is inverted once per live set.
    func testInverseStore_InvertsEachFactorOnce() throws {
        final class CountingStore: FactorStore {
            var kept: [String: [Float]] = [:]
            var stores = 0, hits = 0, misses = 0
            func storeFactor(_ key: String, _ data: [Float]) throws { stores += 1; kept[key] = data }
            func storedFactor(_ key: String, count: Int) throws -> [Float]? {
                guard let d = kept[key] else { misses += 1; return nil }
                XCTAssertEqual(d.count, count, key)
                hits += 1
                return d
            }
        }
        var rng = TestRNG(7)
        let h = 8, f = 6
        func factor(_ n: Int, _ key: String) -> SymmetricFactor { SymmetricFactor(n: n, data: randomSPD(n, rng: &rng), key: key) }
        let aIn = factor(h, "a0"), aMid = factor(h, "a1")
        let shapes: [(String, Int, Int, SymmetricFactor?)] = [("q", h, h, aIn), ("k", 4, h, aIn), ("o", h, h, nil), ("gate", f, h, aMid),
                                                               ("up", f, h, aMid), ("down", h, f, nil)]
        let layers = shapes.enumerated().map { i, s -> PrunableLayer in
            let a = s.3 ?? factor(s.2, "a-\(s.0)")
            return PrunableLayer(name: s.0, weight: Tensor(shape: [s.1, s.2], data: rng.array(s.1 * s.2)),
                                 curvature: .balanced(g: factor(s.1, "g\(i)"), a: a))
        }
        let options = ShotOptions(structure: .structured, method: .llmSurgeon, sparsity: 0.25)
        func run(_ store: FactorStore?) throws -> (ShotResult, [[Float]]) {
            var out = layers.map(\.weight.data)
            let r = try ShotPruner.runStreamed(count: layers.count, options: options, inverseStore: store, layer: { layers[$0] },
                                               store: { i, l in out[i] = l.weight.data })
            return (r, out)
        }
        let (plain, wPlain) = try run(nil)
        let store = CountingStore()
        let (kept, wKept) = try run(store)
        XCTAssertEqual(wKept, wPlain, "the stored inverses must give the same update bit for bit")
        XCTAssertEqual(kept.zeros, plain.zeros)
        XCTAssertEqual(kept.threshold, plain.threshold)
        XCTAssertGreaterThan(kept.zeros.reduce(0, +), 0)
        // 6 G inverses, and A: q and k share a0 (one inverse: the same live columns), gate and up share a1, o and down
        // have their own: 4. Pass 1 misses and stores each; pass 2 reads each back.
        print("inverse store: \(store.stores) stored, \(store.hits) read back, \(store.misses) missed")
        XCTAssertEqual(store.stores, 10)
        XCTAssertEqual(store.misses, 10)
        XCTAssertEqual(store.hits, 10)
    }

    /// A full disk while spilling fails with that reason (here `/dev/full` stands in for the file).
    func testSpill_DiskFull_SaysSo() throws {
        let dir = tempDir("full")
        let spill = try ActivationSpill(directory: dir, precision: .bf16)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("g3.bin").path, withDestinationPath: "/dev/full")
        let x = [Float](repeating: 1, count: 64)
        XCTAssertThrowsError(try x.withUnsafeBufferPointer { try spill.append("g3", $0.baseAddress!, rows: 8, width: 8) }) { e in
            XCTAssertTrue("\(e)".contains("no space left on the device"), "\(e)")
        }
    }
}
