import ArgumentParser
import Foundation
import Model

/// `surgeon eval`: perplexity with the standard protocol (method.md §10).
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Perplexity on a text: tokenized once, non-overlapping windows, remainder dropped, ppl = exp(mean window loss).")

    @Option(name: .long, help: "GGUF file or Hugging Face directory.") var model: String
    @Option(name: .long, help: "Text file (e.g. ../shared/data/wikitext2/test.txt).") var data: String
    @Option(name: .long, help: "Window length in tokens.") var seqlen = 2048
    @Option(name: .long, help: "Evaluate only the first K windows.") var windows: Int?
    @Flag(name: .long, help: "Print one JSON object.") var json = false

    func run() throws {
        let lm = try LanguageModel.load(path: model)
        let tokens = try lm.tokenize(file: data)
        let start = Date()
        let result = try lm.model.perplexity(tokens: tokens, seqlen: seqlen, windows: windows) { done, total in
            let elapsed = Date().timeIntervalSince(start)
            let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
            FileHandle.standardError.write(Data(String(format: "\reval: window %d/%d  %.1fs elapsed  eta %.0fs ", done, total, elapsed, eta).utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        let protocolText = "\(result.windows) non-overlapping windows × \(seqlen) tokens of \(data) (\(tokens.count) tokens, remainder dropped, no BOS unless the tokenizer adds one); ppl = exp(mean of window mean-CE over seqlen−1 predictions)"
        if json {
            let out: [String: Any] = [
                "perplexity": result.perplexity, "tokens": tokens.count, "windows": result.windows,
                "seqlen": seqlen, "seconds": result.seconds, "load_seconds": lm.loadSeconds,
                "tokens_per_second": Double(result.windows * seqlen) / max(result.seconds, 1e-9),
                "protocol": protocolText, "model": model, "data": data,
            ]
            let bytes = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: bytes, as: UTF8.self))
        } else {
            print(String(format: "perplexity %.4f  (%@)", result.perplexity, protocolText))
            print(String(format: "%.1f s, %.0f tokens/s", result.seconds, Double(result.windows * seqlen) / max(result.seconds, 1e-9)))
        }
    }
}
