/// How text is cut into words before byte-level BPE: an optional digit split, then one of the
/// split patterns byte-level vocabularies were trained with.
public struct PreTokenizer: Sendable, Equatable, CustomStringConvertible {
    /// The split regexes, implemented as hand-written scanners (`PreTokenizer+Scan.swift`).
    public enum Pattern: String, Sendable, Equatable {
        /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
        case gpt2
        /// Llama 3: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
        case llama3
        /// Qwen 2: the Llama 3 pattern with `\p{N}` (one digit) instead of `\p{N}{1,3}`.
        case qwen2

        /// The regex as `tokenizers` writes it in a `Split` pre-tokenizer.
        public var regex: String {
            switch self {
            case .gpt2: return #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
            case .llama3: return #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
            case .qwen2: return #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
            }
        }

        /// The pattern whose regex is exactly `regex`, if any.
        public init?(regex: String) {
            guard let match = [Pattern.gpt2, .llama3, .qwen2].first(where: { $0.regex == regex }) else { return nil }
            self = match
        }
    }

    /// Isolate every `\p{N}` scalar first (`tokenizers`' `Digits(individual_digits: true)`).
    public var splitDigits: Bool
    /// The split applied to what lies between digits (or to the whole text).
    public var pattern: Pattern

    public init(splitDigits: Bool, pattern: Pattern) {
        self.splitDigits = splitDigits
        self.pattern = pattern
    }

    /// GPT-2's byte-level pre-tokenizer.
    public static let gpt2 = PreTokenizer(splitDigits: false, pattern: .gpt2)
    /// SmolLM / StarCoder as their own `tokenizer.json` and llama.cpp's `smollm` split: every `\p{N}` alone,
    /// then GPT-2's pattern. Not what Hugging Face builds from a GGUF (see `init(ggufPre:)`): the two differ
    /// on a space before a non-ASCII number such as `" ²"`, a single SmolLM2 token.
    public static let smollm = PreTokenizer(splitDigits: true, pattern: .gpt2)
    /// Llama 3 (`llama-bpe` in GGUF).
    public static let llama3 = PreTokenizer(splitDigits: false, pattern: .llama3)
    /// Qwen 2.
    public static let qwen2 = PreTokenizer(splitDigits: false, pattern: .qwen2)

    /// The pre-tokenizer Hugging Face's GGUF converter (transformers `gguf_tokenizer_mapping.py`) uses for
    /// `tokenizer.ggml.pre`. Names it has no split for fall back to GPT-2's ByteLevel pattern, as there;
    /// that includes `smollm`, so digits are not isolated (unlike `.smollm`).
    public init(ggufPre: String?) {
        switch ggufPre {
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
             "jina-v5-nano", "dbrx", "smaug-bpe":
            self = .llama3
        case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez": self = .qwen2
        default: self = .gpt2
        }
    }

    public var description: String {
        (splitDigits ? "digits+" : "") + pattern.rawValue
    }

    /// The words of `text` as scalar ranges, in order; they tile the text.
    func split(_ text: ScalarText, _ range: Range<Int>, into words: inout [Range<Int>]) {
        guard splitDigits else {
            scan(text, range, into: &words)
            return
        }
        var start = range.lowerBound
        for index in range where text.classes[index] & ScalarText.number != 0 {
            if start < index { scan(text, start..<index, into: &words) }
            words.append(index..<(index + 1))
            start = index + 1
        }
        if start < range.upperBound { scan(text, start..<range.upperBound, into: &words) }
    }

    private func scan(_ text: ScalarText, _ range: Range<Int>, into words: inout [Range<Int>]) {
        switch pattern {
        case .gpt2: PreTokenizer.scanGPT2(text, range, into: &words)
        case .llama3: PreTokenizer.scanLlama3(text, range, maxDigits: 3, into: &words)
        case .qwen2: PreTokenizer.scanLlama3(text, range, maxDigits: 1, into: &words)
        }
    }
}
