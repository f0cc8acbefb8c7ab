import Foundation

/// Where a running prune is, reported through the progress callback.
public struct PruneProgress: Codable, Sendable, Equatable {
    /// `loading`, `calibrating`, `curvature`, `costs`, `threshold`, `update`, `evaluating`, `saving`, `done`.
    public var phase: String
    /// Current shot (1-based) and total shots.
    public var shot: Int
    public var shots: Int
    /// Current layer (1-based) within the phase and the number of layers, when the phase walks layers.
    public var layer: Int?
    public var layers: Int?
    /// Overall fraction done in [0, 1].
    public var fraction: Double
    /// Estimated seconds left, when known.
    public var etaSeconds: Double?
    /// A human-readable line.
    public var message: String

    public init(phase: String, shot: Int, shots: Int, layer: Int? = nil, layers: Int? = nil,
                fraction: Double, etaSeconds: Double? = nil, message: String = "") {
        self.phase = phase; self.shot = shot; self.shots = shots; self.layer = layer; self.layers = layers
        self.fraction = fraction; self.etaSeconds = etaSeconds; self.message = message
    }

    enum CodingKeys: String, CodingKey {
        case phase, shot, shots, layer, layers, fraction, message
        case etaSeconds = "eta_seconds"
    }
}

/// Thrown when the cancellation check returns true; the run stops between layers or shots.
public struct PruneCancelled: Error, Sendable {
    public init() {}
}

/// The job-runner seam: runs one prune into `outputDirectory`, calling `progress` as it goes and
/// `isCancelled` between layers. A run whose directory already holds finished shots resumes after
/// the last of them. Returns the report that is also written as `report.json`.
public protocol PruneRunner: Sendable {
    func run(_ request: PruneRequest, outputDirectory: URL,
             progress: @escaping @Sendable (PruneProgress) -> Void,
             isCancelled: @escaping @Sendable () -> Bool) throws -> PruneReport
}
