/// Where the streamed mode keeps finalized factors and their inverses during a shot, by name, so its second
/// pass reads them back instead of computing them again (`ActivationSpill` is one, beside its rows).
public protocol FactorStore: AnyObject {
    /// Keeps `data` (fp32) under `key`.
    func storeFactor(_ key: String, _ data: [Float]) throws
    /// The `count` floats kept under `key`, or `nil` when nothing is.
    func storedFactor(_ key: String, count: Int) throws -> [Float]?
}
