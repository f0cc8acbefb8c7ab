import Tensor

/// A checkpoint read into memory: the blueprint, every tensor as fp32 under its Hugging Face name
/// (e.g. `model.layers.3.self_attn.q_proj.weight`, shapes as PyTorch's `[out, in]`), and the tokenizer
/// description. GGUF q/k rows are already un-permuted to Hugging Face's rotate-half layout.
public struct LoadedCheckpoint: Sendable {
    public var config: ModelConfig
    public var tensors: [String: Tensor]
    public var tokenizer: TokenizerData?
    /// Where it came from (file or directory path), for messages and reports.
    public var source: String
    /// The on-disk storage type of each tensor as read (e.g. `Q4_1`, `F32`, `BF16`), by HF name.
    public var storageTypes: [String: String]
    /// Tensors the loader kept in 16 bits (`CheckpointLoader.load(half:)`), by HF name; absent from `tensors`.
    public var halfTensors: [String: HalfTensor] = [:]

    public init(config: ModelConfig, tensors: [String: Tensor], tokenizer: TokenizerData?, source: String,
                storageTypes: [String: String] = [:]) {
        self.config = config; self.tensors = tensors; self.tokenizer = tokenizer
        self.source = source; self.storageTypes = storageTypes
    }
}
