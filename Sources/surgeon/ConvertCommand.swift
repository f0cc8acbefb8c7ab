import ArgumentParser
import Checkpoint

/// `surgeon convert`: any supported checkpoint to a Hugging Face directory transformers loads.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a model as a Hugging Face directory (config.json, model.safetensors, tokenizer files).")

    @Option(name: .long, help: "GGUF file or Hugging Face directory.") var model: String
    @Option(name: .long, help: "Output directory.") var out: String
    @Option(name: .long, help: "Storage dtype: F32, F16 or BF16.") var dtype = "F32"

    func run() throws {
        guard let storage = SafetensorsWriter.StorageType(rawValue: dtype.uppercased()) else {
            throw ValidationError("--dtype must be F32, F16 or BF16, got \(dtype)")
        }
        let checkpoint = try CheckpointLoader.load(path: model, requireTokenizer: true)
        let files = try HFDirectoryWriter.write(checkpoint, to: out, storage: storage)
        print("wrote \(out): \(files.joined(separator: ", "))")
    }
}
