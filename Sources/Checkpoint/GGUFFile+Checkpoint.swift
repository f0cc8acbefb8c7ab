import Tensor

extension GGUFFile {
    /// Dequantises every tensor and maps names, config and tokenizer to the Hugging Face convention.
    public func load() throws -> LoadedCheckpoint {
        throw CheckpointError.invalidConfig(path: path, what: "GGUF loading not implemented yet")
    }
}
