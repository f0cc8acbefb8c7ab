/// Why a model could not be built or run.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case missingTensor(String)
    case badShape(name: String, expected: [Int], got: [Int])
    case unsupported(String)
    case badInput(String)

    public var description: String {
        switch self {
        case .missingTensor(let n): return "checkpoint has no tensor `\(n)`"
        case .badShape(let n, let e, let g): return "tensor `\(n)` has shape \(g), expected \(e)"
        case .unsupported(let m): return "unsupported model: \(m)"
        case .badInput(let m): return "bad input: \(m)"
        }
    }
}
