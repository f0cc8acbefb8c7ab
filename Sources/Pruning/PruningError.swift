/// Errors of the per-layer pruning mathematics; each names the layer and what is wrong.
public enum PruningError: Error, CustomStringConvertible, Equatable {
    /// A K-FAC factor holds NaN or Inf (`factor` is `"G"` or `"A"`).
    case nonFiniteFactor(layer: String, factor: String)
    /// Weight and factor shapes disagree.
    case shapeMismatch(layer: String, detail: String)
    /// A damped factor or an OBS system could not be factored.
    case notPositiveDefinite(layer: String, detail: String)
    /// The method does not support this structure.
    case unsupported(method: String, structure: String)
    /// The target sparsity is outside [0, 1).
    case invalidSparsity(Double)
    /// Writing or reading the streamed mode's spill failed (a full disk says so).
    case spill(path: String, reason: String)
    /// The memory plan cannot fit the request in its budget (the message names the minimum).
    case overBudget(String)
    /// The disk cannot hold what the plan writes.
    case insufficientDisk(String)

    public var description: String {
        switch self {
        case let .nonFiniteFactor(layer, factor):
            return "layer \(layer): K-FAC factor \(factor) contains NaN or Inf (diverged forward/backward?)"
        case let .shapeMismatch(layer, detail):
            return "layer \(layer): shape mismatch: \(detail)"
        case let .notPositiveDefinite(layer, detail):
            return "layer \(layer): not positive definite: \(detail); increase damping"
        case let .unsupported(method, structure):
            return "method \(method) does not support structure \(structure)"
        case let .invalidSparsity(s):
            return "target sparsity \(s) is outside [0, 1)"
        case let .spill(path, reason):
            return "curvature spill \(path): \(reason)"
        case let .overBudget(m), let .insufficientDisk(m):
            return m
        }
    }
}
