import Foundation
import XCTest
import Tensor
@testable import Checkpoint

/// Feeds thousands of corrupted files to the readers: each must load or throw a `CheckpointError`,
/// never crash (a trap would end the test process).
final class MutationTests: XCTestCase {
    private struct RNG {
        var s: UInt64
        mutating func next() -> UInt64 { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s }
        mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
    }

    private static let hugeValues: [UInt64] = [.max, .max / 2, 1 << 63, 1 << 62, 1 << 40, 1 << 32, 0xFFFF_FFFF, 0x7FFF_FFFF, 0]

    /// Corrupts `base` within its first `header` bytes in one of several ways.
    private func mutate(_ base: [UInt8], header: Int, _ r: inout RNG) -> [UInt8] {
        var b = base
        switch r.below(5) {
        case 0: // a few random bytes
            for _ in 0...r.below(4) { b[r.below(header)] = UInt8(truncatingIfNeeded: r.next()) }
        case 1: // a single bit flip
            b[r.below(header)] ^= UInt8(1 << r.below(8))
        case 2: // truncation anywhere
            b = Array(b.prefix(r.below(b.count)))
        case 3: // a 64-bit length/count/offset field set huge
            let p = r.below(header - 8), v = Self.hugeValues[r.below(Self.hugeValues.count)]
            withUnsafeBytes(of: v.littleEndian) { for i in 0..<8 { b[p + i] = $0[i] } }
        default: // a 32-bit field (type, dimension count) set to a random or edge value
            let p = r.below(header - 4), v = r.below(2) == 0 ? UInt32(truncatingIfNeeded: r.next()) : UInt32(r.below(40))
            withUnsafeBytes(of: v.littleEndian) { for i in 0..<4 { b[p + i] = $0[i] } }
        }
        return b
    }

    private func run(_ name: String, base: [UInt8], header: Int, iterations: Int, seed: UInt64,
                     _ read: ([UInt8]) throws -> Void) {
        var r = RNG(s: seed)
        var loaded = 0, threw = 0, other = 0
        var kinds: [String: Int] = [:]
        for _ in 0..<iterations {
            let b = mutate(base, header: header, &r)
            do { try read(b); loaded += 1 } catch let e as CheckpointError {
                threw += 1
                kinds["\(e)".split(separator: ":").dropFirst().first.map(String.init) ?? "?", default: 0] += 1
            } catch { other += 1; print("non-CheckpointError: \(error)") }
        }
        print("\(name) mutations: \(iterations), loaded \(loaded), threw \(threw); kinds \(kinds.sorted { $0.value > $1.value }.prefix(6))")
        XCTAssertEqual(other, 0)
        XCTAssertEqual(loaded + threw, iterations)
        XCTAssertGreaterThan(threw, iterations / 4)
    }

    func testCorruptedGGUF_LoadsOrThrowsNeverCrashes() throws {
        let base = GGUFBuilder.tinyLlama().bytes()
        let header = try GGUFFile(file: MappedFile(path: "base", contents: base)).dataOffset
        run("GGUF", base: base, header: header, iterations: 4000, seed: 0x9E37_79B9_7F4A_7C15) { b in
            let ck = try GGUFFile(file: MappedFile(path: "m.gguf", contents: b)).load()
            if case .gguf(let t)? = ck.tokenizer { _ = t.huggingFaceTokenizerJSON() }
        }
    }

    func testCorruptedRealisticGGUF_LoadsOrThrowsNeverCrashes() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "tiny_llama", withExtension: "gguf", subdirectory: "Fixtures"))
        let base = [UInt8](try Data(contentsOf: url))
        let header = try GGUFFile(file: MappedFile(path: "base", contents: base)).dataOffset
        run("tiny_llama.gguf", base: base, header: header, iterations: 1500, seed: 42) { b in
            _ = try GGUFFile(file: MappedFile(path: "m.gguf", contents: b)).load()
        }
    }

    func testCorruptedSafetensors_LoadsOrThrowsNeverCrashes() throws {
        let t: [String: Tensor] = ["a": randomTensor([3, 4], seed: 1), "b.weight": randomTensor([5], seed: 2), "c": randomTensor([2, 2, 2], seed: 3)]
        for type in [SafetensorsWriter.StorageType.F32, .F16, .BF16] {
            let base = SafetensorsWriter.encode(t, as: type)
            let header = 8 + Int(base.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
            run("safetensors \(type)", base: base, header: header, iterations: 1500, seed: 7 + UInt64(header)) { b in
                _ = try SafetensorsFile(file: MappedFile(path: "m.safetensors", contents: b)).allTensors()
            }
        }
    }

    func testCorruptedConfigJSON_ParsesOrThrowsNeverCrashes() throws {
        let base = Array(tinyLlamaConfigJSON.utf8)
        run("config.json", base: base, header: base.count, iterations: 1500, seed: 99) { b in
            let json = try b.withUnsafeBytes { try JSONValue.parse($0, path: "config.json", what: "config.json") }
            _ = try ModelConfig(huggingFace: json, path: "config.json")
        }
    }
}
