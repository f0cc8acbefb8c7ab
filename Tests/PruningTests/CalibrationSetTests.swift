import XCTest
@testable import Pruning

final class CalibrationSetTests: XCTestCase {
    /// Offsets printed by `random.seed(100); random.sample(range(0, 274916 - 512), 16)` in CPython 3.11,
    /// the calibration windows of the reference run (shared/docs/reference-results.md).
    let referenceOffsets = [76372, 240925, 238512, 91618, 206062, 183362, 227286, 265743,
                            57655, 63602, 42023, 239046, 138106, 25106, 107209, 175820]

    func testSample_ReproducesPythonRandomSample_ForTheReferenceCalibration() {
        var rng = PythonRandom(seed: 100)
        XCTAssertEqual(rng.sample(rangeCount: 274916 - 512, k: 16), referenceOffsets)
    }

    func testGetrandbits_MatchesCPython_ForSeedZero() {
        // random.seed(0); [random.getrandbits(32) for _ in range(3)]
        var rng = PythonRandom(seed: 0)
        XCTAssertEqual((0..<3).map { _ in rng.getrandbits(32) }, [3626764237, 1654615998, 3255389356])
    }

    func testSample_SmallPopulation_UsesPoolPathLikePython() {
        // random.seed(7); random.sample(range(10), 4)
        var rng = PythonRandom(seed: 7)
        XCTAssertEqual(rng.sample(rangeCount: 10, k: 4), [5, 2, 6, 9])
    }

    func testCalibrationSet_TakesWindowsAtTheDrawnOffsets() throws {
        let tokens = (0..<274916).map { Int32($0 % 49152) }
        let set = try CalibrationSet(tokens: tokens, samples: 16, seqlen: 512, seed: 100)
        XCTAssertEqual(set.offsets, referenceOffsets)
        XCTAssertEqual(set.sequences[0].first, tokens[76372])
        XCTAssertEqual(set.sequences[0].count, 512)
    }

    func testCalibrationSet_RejectsTextShorterThanOneSequence() {
        XCTAssertThrowsError(try CalibrationSet(tokens: [1, 2, 3], samples: 1, seqlen: 8, seed: 1)) { error in
            XCTAssertEqual(error as? CalibrationSet.Failure, .textTooShort(tokens: 3, seqlen: 8))
        }
    }

    /// A held-out range (a dev split) is never touched: offsets whose window overlaps it are skipped and the
    /// draw continues. Expected values from CPython 3.11: `r = random.Random(100)`, then repeated
    /// `r._randbelow(n)` with duplicate rejection, keeping `j` when `j + 512 <= 200000 or j >= 250000`.
    func testCalibrationSet_SkipsWindowsTouchingTheHeldOutRange_LikePythonDraws() throws {
        let tokens = (0..<274916).map { Int32($0 % 49152) }
        let set = try CalibrationSet(tokens: tokens, samples: 16, seqlen: 512, seed: 100, excluding: 200_000 ..< 250_000)
        XCTAssertEqual(set.offsets, [76372, 91618, 183362, 265743, 57655, 63602, 42023, 138106, 25106, 107209, 175820,
                                     120431, 162217, 106886, 93564, 73836])
        for o in set.offsets { XCTAssertTrue(o + 512 <= 200_000 || o >= 250_000, "window at \(o) touches the held-out range") }
    }

    func testCalibrationSet_HeldOutRangeNotTouched_KeepsTheReferenceOffsets() throws {
        let tokens = (0..<274916).map { Int32($0 % 49152) }
        let set = try CalibrationSet(tokens: tokens, samples: 16, seqlen: 512, seed: 100, excluding: 140_000 ..< 152_288)
        XCTAssertEqual(set.offsets, referenceOffsets)
    }

    func testCalibrationSet_HeldOutRangeLeavingTooFewOffsets_IsAnError() {
        let tokens = (0..<100).map { Int32($0) }
        XCTAssertThrowsError(try CalibrationSet(tokens: tokens, samples: 5, seqlen: 10, seed: 1, excluding: 0 ..< 88)) { error in
            XCTAssertEqual(error as? CalibrationSet.Failure, .tooManySamples(samples: 5, available: 2))
        }
    }
}
