import Tensor

/// One prunable matrix as the per-shot driver sees it: its weights (updated in place), its K-FAC curvature
/// (shared factors referenced) and whether its last column is a bias.
public struct PrunableLayer: Sendable {
    public var name: String
    /// Θ = [W, b] // (R, C)
    public var weight: Tensor
    public var curvature: LayerCurvature
    public var hasBias: Bool

    public init(name: String, weight: Tensor, curvature: LayerCurvature, hasBias: Bool = false) {
        self.name = name; self.weight = weight; self.curvature = curvature; self.hasBias = hasBias
    }

    public var R: Int { weight.rows }
    public var C: Int { weight.cols }
    /// Columns that are weights (2:4 blocks never include the bias).
    public var weightColumns: Int { hasBias ? C - 1 : C }
    /// Zeros in Θ.
    public var zeros: Int { weight.data.reduce(0) { $0 + ($1 == 0 ? 1 : 0) } }

    /// Sets `rows` and `cols` (full coordinates) to zero, with no update of the rest.
    mutating func zero(rows: [Int], cols: [Int] = []) {
        let R = self.R, C = self.C
        for r in rows { for c in 0..<C { weight.data[r * C + c] = 0 } }
        for c in cols { for r in 0..<R { weight.data[r * C + c] = 0 } }
    }
}

/// What one shot needs besides the layers.
public struct ShotOptions: Sendable {
    public var structure: PruneRequest.Structure
    public var method: PruneRequest.Method
    /// Target fraction `s_t` of all prunable parameters removed after this shot.
    public var sparsity: Double
    /// Relative damping δ_G, δ_A (λ = δ·mean(diag)).
    public var dampG: Double
    public var dampA: Double
    /// Elements per correlated chunk (unstructured / 2:4); 0 = one chunk.
    public var maxCorrelate: Int
    /// Rows/columns per jointly updated group in structured/coupled mode; 0 = all together (the reference).
    public var structuredGroupSize: Int
    public var structuredOrder: StructuredUpdateOrder
    /// Required for `.coupled`.
    public var coupling: CouplingPlan?
    /// Coupled only: equal widths in every block, FFN neurons removed in multiples of this (`--uniform`); nil: off.
    public var uniformMultiple: Int?
    /// Coupled only: which member matrices are scored and updated.
    public var coupledCost: CouplingPlan.Cost = PruneRequest.defaultCoupledCost
    /// LLM Surgeon: conjugate-gradient steps of the refit on the shot's fixed mask (`MaskedRefit`); 0: none.
    public var refitIterations = 0
    /// Whether this shot refits (the one test of it: LLM Surgeon with `refitIterations > 0`).
    var refits: Bool { method == .llmSurgeon && refitIterations > 0 }
    /// 2:4 LLM Surgeon: how a block is scored.
    public var pairCost = PruneRequest.defaultPairCost
    /// Unstructured and 2:4: one global threshold, or the shot's fraction in every matrix.
    public var allocation = PruneRequest.Allocation.global

    public init(structure: PruneRequest.Structure, method: PruneRequest.Method, sparsity: Double,
                dampG: Double? = nil, dampA: Double? = nil, maxCorrelate: Int = 2000, structuredGroupSize: Int = 0,
                structuredOrder: StructuredUpdateOrder = .summed, coupling: CouplingPlan? = nil) {
        let d = ShotOptions.defaultDamping(structure)
        self.structure = structure; self.method = method; self.sparsity = sparsity
        self.dampG = dampG ?? d.g; self.dampA = dampA ?? d.a
        self.maxCorrelate = maxCorrelate; self.structuredGroupSize = structuredGroupSize
        self.structuredOrder = structuredOrder; self.coupling = coupling
    }

    /// The layers whose costs and updates this shot computes: all of them, except that a coupled shot under
    /// `outputs` scores only the matrices that read its structures.
    func scoredLayers(count: Int) -> Set<Int> {
        guard structure == .coupled, coupledCost == .outputs, let plan = coupling else { return Set(0..<count) }
        var out = Set<Int>()
        for st in plan.structures { for m in st.members where coupledCost.counts(m) { out.insert(m.layer) } }
        return out
    }

    /// The options of shot `s_t` of a request (its damping, or the structure's default, and `max_correlate`).
    public init(request: PruneRequest, sparsity: Double, coupling: CouplingPlan? = nil,
                structuredOrder: StructuredUpdateOrder = .summed) {
        self.init(structure: request.structure, method: request.method, sparsity: sparsity, dampG: request.dampG,
                  dampA: request.dampA, maxCorrelate: request.maxCorrelate, structuredOrder: structuredOrder, coupling: coupling)
        if request.uniform { uniformMultiple = request.uniformMultiple }
        coupledCost = request.coupledCost
        refitIterations = request.refitIterations
        pairCost = request.pairCost ?? PruneRequest.defaultPairCost
        allocation = request.allocation
    }

    /// Default damping. Structured and coupled: δ_G = δ_A = 0.1, the best of 0.01/0.1/0.3/1 on the dev split
    /// (docs/quality.md; the reference scripts' 0.01/0.01 is 5× worse there). Unstructured and 2:4: also 0.1/0.1,
    /// better than the reference scripts' δ_A = 0.01 at unstructured 50 % on the dev split (29.60 vs 30.35).
    public static func defaultDamping(_ s: PruneRequest.Structure) -> (g: Double, a: Double) {
        switch s {
        case .structured, .coupled: return (0.1, 0.1)
        case .unstructured, .semi24: return (0.1, 0.1)
        }
    }

    /// Why `defaultDamping` is what it is, for `report.json`.
    public static func defaultDampingSource(_ s: PruneRequest.Structure) -> String {
        switch s {
        case .structured, .coupled: return "best on the dev split of docs/quality.md (0.01, 0.1, 0.3, 1 swept)"
        case .unstructured, .semi24: return "best on the dev split of docs/quality.md (δ_A 0.01 and 0.1 at unstructured 50 %; 2:4 takes the unstructured choice)"
        }
    }
}

/// What one shot did.
public struct ShotResult: Sendable {
    /// The global threshold τ (nil for per-layer methods: Wanda, SparseGPT).
    public var threshold: Float?
    /// Zeros per layer before the shot (after nothing: dead rows/columns zeroed this shot count as removed now).
    public var zerosBefore: [Int]
    /// Zeros per layer after the shot.
    public var zeros: [Int]
    /// Parameters per layer.
    public var parameters: [Int]
    /// Seconds per phase: `costs`, `threshold`, `update`.
    public var seconds: [String: Double]
    /// Structured K-FAC methods only, in the factors' units (multiply by `T·(T−1)` for calibration-loss units):
    /// the loss increase the undamped quadratic model `½ ΔθᵀFΔθ` predicts for the change actually applied,
    /// summed over layers …
    public var quadraticModelIncrease: Double? = nil
    /// … and the sum of the OBS costs of the structures selected (what the method expects to lose).
    public var selectedCost: Double? = nil
    /// With a refit (`refitIterations > 0`): the damped quadratic of the shot's change before and after the refit,
    /// summed over layers, in the same units.
    public var refit: MaskedRefit.Outcome? = nil

    /// Fraction of all prunable parameters that are zero.
    public var sparsity: Double {
        let p = parameters.reduce(0, +)
        return p == 0 ? 0 : Double(zeros.reduce(0, +)) / Double(p)
    }
}
