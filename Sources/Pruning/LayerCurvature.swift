/// The K-FAC curvature of one prunable matrix: `F ≈ (gScale·G) ⊗ (aScale·A)` with row-major vec.
///
/// `G` and `A` are shared references; the Frobenius balance (`‖gScale·G‖_F = ‖aScale·A‖_F`) is kept as two
/// scalars per layer, so a shared `A` is stored once even though each layer balances it differently.
public struct LayerCurvature: Sendable {
    /// Output-gradient factor. // (R, R)
    public var g: SymmetricFactor
    /// Input factor (with the constant-1 row/column last when the layer has a bias). // (C, C)
    public var a: SymmetricFactor
    public var gScale: Float
    public var aScale: Float

    /// Factors with explicit scales.
    public init(g: SymmetricFactor, a: SymmetricFactor, gScale: Float, aScale: Float) {
        self.g = g; self.a = a; self.gScale = gScale; self.aScale = aScale
    }

    /// Frobenius-balanced factors (method.md §3.1): `G·sqrt(‖A‖/‖G‖)`, `A·sqrt(‖G‖/‖A‖)`; both 0 if either norm is 0.
    public static func balanced(g: SymmetricFactor, a: SymmetricFactor) -> LayerCurvature {
        let ng = g.frobeniusNorm, na = a.frobeniusNorm
        if ng == 0 || na == 0 || !ng.isFinite || !na.isFinite {
            let z: Float = (ng.isFinite && na.isFinite) ? 0 : 1
            return LayerCurvature(g: g, a: a, gScale: z, aScale: z)
        }
        return LayerCurvature(g: g, a: a, gScale: Float((na / ng).squareRoot()), aScale: Float((ng / na).squareRoot()))
    }

    /// `gScale·G` as a dense row-major matrix. // (R, R)
    public func scaledG() -> [Float] { g.data.map { $0 * gScale } }
    /// `aScale·A` as a dense row-major matrix. // (C, C)
    public func scaledA() -> [Float] { a.data.map { $0 * aScale } }
}
