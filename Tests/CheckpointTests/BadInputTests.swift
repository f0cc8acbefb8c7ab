import Foundation
import XCTest
import Tensor
@testable import Checkpoint

final class BadInputTests: XCTestCase {
    private func loadGGUF(_ bytes: [UInt8]) throws -> LoadedCheckpoint {
        try GGUFFile(file: MappedFile(path: "test.gguf", contents: bytes)).load()
    }

    private func assertThrows(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line,
                              _ check: (CheckpointError) -> Bool) {
        do { _ = try loadGGUF(bytes); XCTFail("loaded", file: file, line: line) } catch {
            guard let e = error as? CheckpointError else { return XCTFail("not a CheckpointError: \(error)", file: file, line: line) }
            XCTAssertTrue(check(e), "unexpected \(e)", file: file, line: line)
            XCTAssertTrue(e.description.hasPrefix("test.gguf"), file: file, line: line)
        }
    }

    func testBuiltTinyGGUF_Loads() throws {
        let ck = try loadGGUF(GGUFBuilder.tinyLlama().bytes())
        XCTAssertEqual(ck.config.numHeads, 2); XCTAssertEqual(ck.config.numKVHeads, 1); XCTAssertTrue(ck.config.tieWordEmbeddings)
        XCTAssertEqual(ck.tensors["model.embed_tokens.weight"]?.shape, [5, 8])
        XCTAssertEqual(ck.tensors["model.layers.0.mlp.down_proj.weight"]?.shape, [8, 12])
        let g = try GGUFFile(file: MappedFile(path: "t", contents: GGUFBuilder.tinyLlama().bytes()))
        XCTAssertEqual(g["nested"], .array([.array([.uint8(1), .uint8(2)]), .array([.uint8(3)])]))
    }

    func testVersion2_Loads() throws {
        var g = GGUFBuilder.tinyLlama(); g.version = 2
        XCTAssertEqual(try GGUFFile(file: MappedFile(path: "t", contents: g.bytes())).version, 2)
        XCTAssertEqual(try loadGGUF(g.bytes()).tensors.count, 11)
    }

    func testWrongMagic_ThrowsBadMagic() {
        var b = GGUFBuilder.tinyLlama().bytes(); b[0] = 0x47; b[3] = 0x47
        assertThrows(b) { if case .badMagic = $0 { return true }; return false }
    }

    func testVersion1_ThrowsUnsupportedVersion() {
        var g = GGUFBuilder.tinyLlama(); g.version = 1
        assertThrows(g.bytes()) { $0 == .unsupportedVersion(path: "test.gguf", version: 1, supported: [2, 3]) }
    }

    func testTruncatedFile_ThrowsTruncatedOrOutOfRange() {
        let b = GGUFBuilder.tinyLlama().bytes()
        for cut in [0, 3, 7, 20, 100, 400, b.count - 1] {
            assertThrows(Array(b.prefix(cut))) {
                switch $0 { case .truncated, .outOfRange: return true; default: return false }
            }
        }
    }

    func testTensorPastEnd_ThrowsOutOfRange() {
        var g = GGUFBuilder.tinyLlama()
        g.tensors[3].dims = [8, 800]
        assertThrows(g.bytes()) { if case .outOfRange(_, let what) = $0 { return what.contains("blk.0.attn_q.weight") }; return false }
    }

    func testUnknownTensorType_ThrowsUnsupportedType() {
        var g = GGUFBuilder.tinyLlama()
        g.tensors[1].type = 99
        assertThrows(g.bytes()) { $0 == .unsupportedType(path: "test.gguf", tensor: "output_norm.weight", type: "type#99") }
    }

    func testHugeMetadataCount_ThrowsOutOfRange() {
        var b = GGUFBuilder.tinyLlama().bytes()
        for i in 16..<24 { b[i] = 0xFF }
        assertThrows(b) { if case .outOfRange = $0 { return true }; return false }
    }

    func testHeadsNotDividingHidden_ThrowsInvalidConfig() {
        var g = GGUFBuilder.tinyLlama()
        g.kv[6].1 = .uint32(3)
        assertThrows(g.bytes()) { if case .invalidConfig(_, let w) = $0 { return w.contains("does not divide") }; return false }
    }

    func testUnsupportedArchitecture_NamesSupportedOnes() {
        var g = GGUFBuilder.tinyLlama()
        g.kv[0].1 = .string("falcon")
        assertThrows(g.bytes()) { $0 == .unsupportedArchitecture(path: "test.gguf", found: "falcon", supported: ["llama", "mistral", "qwen2", "gemma3"]) }
    }

    func testTokenIdOutsideVocabulary_ThrowsMalformed() {
        var g = GGUFBuilder.tinyLlama()
        g.kv[15].1 = .uint32(77)
        assertThrows(g.bytes()) { if case .malformed(_, let w) = $0 { return w.contains("eos_token_id") }; return false }
    }

    func testMissingTokenizer_WhenRequired_Throws() throws {
        let dir = try makeTempDir(self)
        var g = GGUFBuilder.tinyLlama()
        g.kv.removeAll { $0.0.hasPrefix("tokenizer.") }
        try Data(g.bytes()).write(to: URL(fileURLWithPath: dir + "/m.gguf"))
        XCTAssertNil(try CheckpointLoader.load(path: dir + "/m.gguf").tokenizer)
        XCTAssertThrowsError(try CheckpointLoader.load(path: dir + "/m.gguf", requireTokenizer: true)) {
            XCTAssertEqual($0 as? CheckpointError, .missingTokenizer(path: dir + "/m.gguf"))
        }
    }

    func testNotAGGUFFile_ThrowsBadMagicWithHint() throws {
        let dir = try makeTempDir(self)
        try writeText("hello world", dir + "/x.bin")
        XCTAssertThrowsError(try CheckpointLoader.load(path: dir + "/x.bin")) { e in
            guard case .badMagic = e as? CheckpointError else { return XCTFail("\(e)") }
            XCTAssertTrue("\(e)".contains("Hugging Face directory"))
        }
        XCTAssertThrowsError(try CheckpointLoader.load(path: dir + "/nope")) { e in
            guard case .cannotOpen = e as? CheckpointError else { return XCTFail("\(e)") }
        }
    }

    // MARK: safetensors

    private func safetensors(header: String, data: Int) -> [UInt8] {
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { out.append(contentsOf: $0) }
        return out + Array(header.utf8) + [UInt8](repeating: 0, count: data)
    }

    private func openST(_ b: [UInt8]) throws -> [String: Tensor] { try SafetensorsFile(file: MappedFile(path: "t.safetensors", contents: b)).allTensors() }

    func testSafetensorsOffsetsPastEnd_ThrowsOutOfRange() {
        XCTAssertThrowsError(try openST(safetensors(header: "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", data: 8))) {
            guard case .outOfRange(let p, let w) = $0 as? CheckpointError else { return XCTFail("\($0)") }
            XCTAssertEqual(p, "t.safetensors"); XCTAssertTrue(w.contains("w"))
        }
    }

    func testSafetensorsShapeMismatch_ThrowsOutOfRange() {
        XCTAssertThrowsError(try openST(safetensors(header: "{\"w\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,16]}}", data: 16))) {
            guard case .outOfRange = $0 as? CheckpointError else { return XCTFail("\($0)") }
        }
    }

    func testSafetensorsOverflowingShape_ThrowsOutOfRange() {
        XCTAssertThrowsError(try openST(safetensors(header: "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,16]}}", data: 16))) {
            guard case .outOfRange = $0 as? CheckpointError else { return XCTFail("\($0)") }
        }
    }

    func testSafetensorsUnknownDType_ThrowsUnsupportedType() {
        XCTAssertThrowsError(try openST(safetensors(header: "{\"w\":{\"dtype\":\"Q9\",\"shape\":[2],\"data_offsets\":[0,2]}}", data: 2))) {
            XCTAssertEqual($0 as? CheckpointError, .unsupportedType(path: "t.safetensors", tensor: "w", type: "Q9"))
        }
        XCTAssertThrowsError(try openST(safetensors(header: "{\"w\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", data: 16))) {
            XCTAssertEqual($0 as? CheckpointError, .unsupportedType(path: "t.safetensors", tensor: "w", type: "I64"))
        }
    }

    func testSafetensorsHugeHeaderLength_ThrowsTruncated() {
        var b = safetensors(header: "{}", data: 0)
        for i in 0..<8 { b[i] = 0xFF }
        XCTAssertThrowsError(try openST(b)) { guard case .truncated = $0 as? CheckpointError else { return XCTFail("\($0)") } }
        XCTAssertThrowsError(try openST([1, 2, 3])) { guard case .truncated = $0 as? CheckpointError else { return XCTFail("\($0)") } }
        XCTAssertThrowsError(try openST(safetensors(header: "{\"w\":", data: 0))) { guard case .malformed = $0 as? CheckpointError else { return XCTFail("\($0)") } }
    }
}

final class CheckpointLoaderTests: XCTestCase {
    func testDirectoryWithOneGGUFAndNoConfig_LoadsTheGGUF() throws {
        let dir = try makeTempDir(self)
        try Data(GGUFBuilder.tinyLlama().bytes()).write(to: URL(fileURLWithPath: dir + "/m.gguf"))
        let ck = try CheckpointLoader.load(path: dir)
        XCTAssertEqual(ck.source, dir + "/m.gguf")
        XCTAssertEqual(ck.config.hiddenSize, 8)
    }
}
