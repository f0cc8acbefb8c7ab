import ArgumentParser
import Foundation
import Model
import Tokenizer

/// `surgeon generate`: text continuation with a KV cache.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Continue a prompt (greedy, or sampled with --temperature).")

    @Option(name: .long, help: "GGUF file or Hugging Face directory.") var model: String
    @Option(name: .long, help: "The prompt text.") var prompt: String
    @Option(name: .customLong("max-tokens"), help: "New tokens to generate.") var maxTokens = 64
    @Option(name: .long, help: "Sampling temperature; 0 is greedy.") var temperature: Float = 0
    @Option(name: .long, help: "Sampling seed.") var seed: UInt64 = 0

    func run() throws {
        let lm = try LanguageModel.load(path: model)
        let ids = lm.tokenizer.encode(prompt).map(Int.init)
        var stream = TokenStreamDecoder()
        let stop: Set<Int> = lm.tokenizer.eosTokenId.map { [Int($0)] } ?? []
        FileHandle.standardOutput.write(Data(prompt.utf8))
        let start = Date()
        let out = try lm.model.generate(prompt: ids, maxNewTokens: maxTokens, temperature: temperature, seed: seed, stop: stop) { id in
            FileHandle.standardOutput.write(Data(stream.push(Int32(id), lm.tokenizer).utf8))
            return true
        }
        print(stream.finish())
        let dt = Date().timeIntervalSince(start)
        FileHandle.standardError.write(Data(String(format: "generate: %d tokens in %.2f s (%.1f tokens/s)\n", out.count, dt, Double(out.count) / max(dt, 1e-9)).utf8))
    }
}
