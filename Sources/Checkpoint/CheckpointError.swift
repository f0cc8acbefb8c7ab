/// Everything that can go wrong reading or writing a checkpoint. Every case names the file (or
/// directory) and says what is wrong, so the message alone tells the user what to fix.
public enum CheckpointError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The path does not exist or cannot be opened / mapped.
    case cannotOpen(path: String, reason: String)
    /// The file ends before `what` could be read.
    case truncated(path: String, what: String)
    /// The first bytes are not the format's magic number.
    case badMagic(path: String, expected: String, found: String)
    /// A format version this reader does not understand.
    case unsupportedVersion(path: String, version: Int, supported: [Int])
    /// A structural field (header JSON, metadata value, tensor entry) is malformed.
    case malformed(path: String, what: String)
    /// An offset, size or shape points outside the file or overflows.
    case outOfRange(path: String, what: String)
    /// A tensor is stored in a type this reader cannot convert to fp32.
    case unsupportedType(path: String, tensor: String, type: String)
    /// `model_type` / `general.architecture` is not one of the supported families.
    case unsupportedArchitecture(path: String, found: String, supported: [String])
    /// The configuration is missing a field or contradicts itself.
    case invalidConfig(path: String, what: String)
    /// A tensor the configuration requires is absent, or has the wrong shape.
    case missingTensor(path: String, name: String)
    /// A required file inside a checkpoint directory is absent.
    case missingFile(path: String)
    /// No tokenizer description was found (and one was required).
    case missingTokenizer(path: String)
    /// Writing failed.
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "\(path): cannot open (\(reason))"
        case let .truncated(path, what): return "\(path): file is truncated while reading \(what)"
        case let .badMagic(path, expected, found):
            return "\(path): not a \(expected) file (first bytes \(found)); pass a .gguf file or a Hugging Face directory with config.json"
        case let .unsupportedVersion(path, version, supported):
            return "\(path): format version \(version) is not supported (supported: \(supported.map(String.init).joined(separator: ", ")))"
        case let .malformed(path, what): return "\(path): malformed: \(what)"
        case let .outOfRange(path, what): return "\(path): out of range: \(what)"
        case let .unsupportedType(path, tensor, type): return "\(path): tensor \(tensor) has unsupported storage type \(type)"
        case let .unsupportedArchitecture(path, found, supported):
            return "\(path): architecture '\(found)' is not supported (supported: \(supported.joined(separator: ", ")))"
        case let .invalidConfig(path, what): return "\(path): invalid model configuration: \(what)"
        case let .missingTensor(path, name): return "\(path): missing or misshapen tensor \(name)"
        case let .missingFile(path): return "\(path): required file is missing"
        case let .missingTokenizer(path): return "\(path): no tokenizer found (expected tokenizer.json or tokenizer.ggml.* metadata)"
        case let .writeFailed(path, reason): return "\(path): write failed (\(reason))"
        }
    }
}
