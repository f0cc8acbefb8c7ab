import Foundation
import XCTest
@testable import Checkpoint

final class DequantizeTests: XCTestCase {
    /// Dequantises the fixture blocks of `type` and compares with the values the `gguf` package gave.
    private func check(_ type: GGMLType, file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = "Fixtures/dequant"
        let bURL = try XCTUnwrap(Bundle.module.url(forResource: type.name, withExtension: "blocks", subdirectory: dir), file: file, line: line)
        let fURL = try XCTUnwrap(Bundle.module.url(forResource: type.name, withExtension: "f32", subdirectory: dir), file: file, line: line)
        let blocks = [UInt8](try Data(contentsOf: bURL))
        let expected = try Data(contentsOf: fURL).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let n = blocks.count / type.blockBytes! * type.blockSize!
        XCTAssertEqual(n, expected.count, file: file, line: line)
        var got = [Float](repeating: .nan, count: n)
        blocks.withUnsafeBytes { src in got.withUnsafeMutableBufferPointer { dequantize($0.baseAddress!, src.baseAddress!, type: type, count: n) } }
        var maxDiff: Float = 0
        for (g, e) in zip(got, expected) { maxDiff = max(maxDiff, abs(g - e) / max(1, abs(e))) }
        print("dequantize \(type.name): \(n) values, maxdiff \(maxDiff)")
        XCTAssertLessThanOrEqual(maxDiff, 1e-6, file: file, line: line)
    }

    func testDequantizeF32_MatchesGGUFPackage() throws { try check(.F32) }
    func testDequantizeF16_MatchesGGUFPackage() throws { try check(.F16) }
    func testDequantizeBF16_MatchesGGUFPackage() throws { try check(.BF16) }
    func testDequantizeQ8_0_MatchesGGUFPackage() throws { try check(.Q8_0) }
    func testDequantizeQ4_0_MatchesGGUFPackage() throws { try check(.Q4_0) }
    func testDequantizeQ4_1_MatchesGGUFPackage() throws { try check(.Q4_1) }
    func testDequantizeQ5_0_MatchesGGUFPackage() throws { try check(.Q5_0) }
    func testDequantizeQ5_1_MatchesGGUFPackage() throws { try check(.Q5_1) }
    func testDequantizeQ4_K_MatchesGGUFPackage() throws { try check(.Q4_K) }
    func testDequantizeQ5_K_MatchesGGUFPackage() throws { try check(.Q5_K) }
    func testDequantizeQ6_K_MatchesGGUFPackage() throws { try check(.Q6_K) }

    func testDequantizeQ4_1_FastAgreesWithNaive() throws {
        var bytes = [UInt8](repeating: 0, count: 20 * 50)
        var s: UInt32 = 7
        for i in bytes.indices { s = s &* 1_103_515_245 &+ 12345; bytes[i] = UInt8(truncatingIfNeeded: s >> 16) }
        for b in 0..<50 { // valid fp16 d and m
            bytes[b * 20 + 1] = 0x2C; bytes[b * 20 + 3] = 0xAC
        }
        var fast = [Float](repeating: 0, count: 1600), naive = fast
        bytes.withUnsafeBytes { src in
            fast.withUnsafeMutableBufferPointer { dequantizeQ4_1($0.baseAddress!, src.baseAddress!, blocks: 50) }
            naive.withUnsafeMutableBufferPointer { dequantizeQ4_1Naive($0.baseAddress!, src.baseAddress!, blocks: 50) }
        }
        let maxDiff = zip(fast, naive).map { abs($0 - $1) }.max()!
        print("Q4_1 fast vs naive maxdiff \(maxDiff)")
        XCTAssertEqual(maxDiff, 0)
    }

    func testHalfConversion_RoundTripsEveryFiniteHalf() {
        var mismatches = 0
        for h in 0...UInt16.max where (h >> 10) & 0x1F != 0x1F {
            if floatToHalf(halfToFloat(h)) != h { mismatches += 1 }
        }
        XCTAssertEqual(mismatches, 0)
        XCTAssertEqual(halfToFloat(0x3C00), 1)
        XCTAssertEqual(halfToFloat(0x0001), 5.9604645e-8)
        XCTAssertEqual(floatToHalf(1e6), 0x7C00)
        XCTAssertEqual(bfloat16ToFloat(floatToBFloat16(-2.5)), -2.5)
    }
}
