import Checkpoint
import Foundation
import Model
@testable import Pruning
import Tensor
import XCTest

/// Runs only when llama.cpp's Python binding is installed (SURGEON_LLAMA_PYTHON, default
/// /work/venv-llama/bin/python) and the real model is present: a compact GGUF of SmolLM2 with uneven
/// KV groups, a layer without attention and a layer without FFN must give llama.cpp the perplexity
/// Surgeon computes for the compact model on the same window.
final class CompactionLlamaCppTests: XCTestCase {
    static var root: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    func testCompactGGUFPerplexityInLlamaCppMatchesSurgeon() throws {
        let python = ProcessInfo.processInfo.environment["SURGEON_LLAMA_PYTHON"] ?? "/work/venv-llama/bin/python"
        let modelPath = Self.root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        let text = Self.root.appendingPathComponent("../shared/data/wikitext2/test.txt").standardized.path
        guard FileManager.default.isExecutableFile(atPath: python), FileManager.default.fileExists(atPath: modelPath),
              FileManager.default.fileExists(atPath: text), Self.run(python, ["-c", "import llama_cpp"]).status == 0 else {
            throw XCTSkip("llama.cpp (llama-cpp-python) or the real model is not installed")
        }
        var lm = try LanguageModel.load(path: modelPath)
        let (c, d, f) = (lm.model.hiddenSize, lm.model.headDim, lm.model.config.intermediateSize)
        for l in 0..<lm.model.blocks.count {
            var b = lm.model.blocks[l]
            let hd = b.heads * d
            let goneHeads: [Int] = l == 3 ? Array(0..<b.heads) : (l % 3 == 0 ? [1] : (l % 3 == 1 ? [0, 1, 2] : []))
            for h in goneHeads { for r in 0..<c { for j in (h * d)..<((h + 1) * d) { b.linears[3].weight[r * hd + j] = 0 } } }
            let goneNeurons = l == 5 ? Array(0..<f) : Array(stride(from: l % 4, to: f, by: 4))
            for i in goneNeurons { for r in 0..<c { b.linears[6].weight[r * f + i] = 0 } }
            lm.model.blocks[l] = b
        }
        let (compact, _) = try Compaction.compact(lm.model)
        let (laid, cost) = Compaction.contiguousGroups(compact, ffnMultiple: 32)
        XCTAssertGreaterThan(cost.duplicatedKVHeads, 0)
        let path = NSTemporaryDirectory() + "compact-llamacpp-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try GGUFWriter.write(try Compaction.checkpoint(laid, tokenizer: lm.checkpoint.tokenizer, source: modelPath, uniform: false),
                             to: path, storage: .F32)
        let seqlen = 256
        let tokens = try lm.tokenize(file: text)
        let surgeon = try compact.perplexity(tokens: tokens, seqlen: seqlen, windows: 1).perplexity
        let script = Self.root.appendingPathComponent("scripts/verify_llamacpp.py").path
        let r = Self.run(python, [script, "--gguf", path, "--text", text, "--windows", "1", "--seqlen", "\(seqlen)",
                                  "--surgeon-ppl", "\(surgeon)", "--json"])
        print(r.output)
        XCTAssertEqual(r.status, 0)
        let obj = try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any]
        let llama = try XCTUnwrap(obj?["perplexity_llamacpp"] as? Double)
        print(String(format: "compact perplexity: Surgeon %.4f llama.cpp %.4f", surgeon, llama))
        XCTAssertLessThan(abs(llama - surgeon) / surgeon, 0.005)
    }

    static func run(_ exe: String, _ args: [String]) -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
