import Checkpoint
import Foundation
import Tokenizer

/// A model ready to use: the checkpoint it came from, the engine built from it and its tokenizer.
/// The one entry point the command line, the pruning engine and the service use to open a model.
public struct LanguageModel: Sendable {
    public var checkpoint: LoadedCheckpoint
    public var model: TransformerModel
    /// Byte-level BPE (SmolLM2, …) or SentencePiece (Gemma 3), as the checkpoint says.
    public var tokenizer: ModelTokenizer
    /// Seconds spent reading, dequantising and building.
    public var loadSeconds: Double

    /// Opens a GGUF file or a Hugging Face directory; fails with a specific error when the file is
    /// broken, the architecture unsupported or the tokenizer missing.
    /// With `half`, the decoder Linears' weights stay in that 16-bit format (a model whose fp32 weights do not fit).
    public static func load(path: String, half: HalfTensor.Kind? = nil) throws -> LanguageModel {
        let start = Date()
        var checkpoint = try CheckpointLoader.load(path: path, requireTokenizer: true, half: half)
        guard let data = checkpoint.tokenizer else {
            throw ModelError.badInput("\(path): the checkpoint has no tokenizer")
        }
        let tokenizer = try ModelTokenizer(data)
        let model = try TransformerModel(checkpoint: checkpoint)
        checkpoint.halfTensors = [:]  // the model holds them now
        return LanguageModel(checkpoint: checkpoint, model: model, tokenizer: tokenizer,
                             loadSeconds: Date().timeIntervalSince(start))
    }

    /// Token ids of a text file, as the evaluation protocol wants them (no BOS unless the tokenizer adds one).
    public func tokenize(file path: String) throws -> [Int] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ModelError.badInput("\(path): cannot read text file (\(error.localizedDescription))")
        }
        return tokenizer.encode(text).map(Int.init)
    }
}
