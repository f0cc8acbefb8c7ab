// The Model module: architectures, forward/backward pairs, KV cache, perplexity, generation.
