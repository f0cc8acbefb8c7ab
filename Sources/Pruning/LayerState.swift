import Tensor

/// Per-layer working state of one shot: the live sub-problem and the damped inverses of the *unscaled*
/// factors. The Frobenius scales only multiply every cost by `kappa = gScale·aScale` and cancel in every update.
struct LayerState {
    var live: LiveSet
    var ginv = InverseFactor.empty  // (kr, kr)
    var ainv = InverseFactor.empty  // (kc, kc)
    var kappa: Float
    /// Diagonals of the inverses in full coordinates (0 for dead rows/columns).
    var ginvDiag: [Float] = []  // (R)
    var ainvDiag: [Float] = []  // (C)

    /// Frees the inverses once the layer is updated.
    mutating func release() { ginv = .empty; ainv = .empty; ginvDiag = []; ainvDiag = [] }
}

/// Damped inverses keyed by factor identity and live indices, so a shared `A` (q/k/v, gate/up) is inverted once.
/// With a `store`, the inverse of a factor that has a `key` is also kept there and read back by a later pass
/// (the streamed mode's second pass), so it is computed once per shot.
final class InverseCache {
    private var entries: [ObjectIdentifier: [(live: [Int], damping: Double, inverse: InverseFactor)]] = [:]
    private let store: FactorStore?

    init(store: FactorStore? = nil) { self.store = store }

    func inverse(_ m: SymmetricFactor, live: [Int], damping: Double, factored: Bool) throws -> InverseFactor {
        let key = ObjectIdentifier(m)
        if let hit = entries[key]?.first(where: { $0.live == live && $0.damping == damping }) { return hit.inverse }
        let inv = try stored(m, live: live, damping: damping, factored: factored)
        entries[key, default: []].append((live, damping, inv))
        return inv
    }

    /// The inverse from the store when it holds it, else computed (and kept there when `m` has a key).
    private func stored(_ m: SymmetricFactor, live: [Int], damping: Double, factored: Bool) throws -> InverseFactor {
        guard let store, let name = m.key else { return try InverseFactor(m, live: live, damping: damping, factored: factored) }
        let k = live.count
        let file = Self.storeKey(name, live: live, damping: damping, factored: factored)
        if let floats = try store.storedFactor(file, count: k * k + k) {
            return InverseFactor(stored: floats, n: k, factored: factored)
        }
        let inv = try InverseFactor(m, live: live, damping: damping, factored: factored)
        try store.storeFactor(file, inv.stored.floats)
        return inv
    }

    /// The store's name for the inverse of factor `name` on `live` with `damping`: every input that decides it
    /// is in the name (the live set by its count and an FNV-1a hash), so a different live set never reads it.
    static func storeKey(_ name: String, live: [Int], damping: Double, factored: Bool) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in live { h = (h ^ UInt64(i)) &* 0x100_0000_01b3 }
        return "inv-\(name)-\(factored ? "v" : "d")-\(live.count)-\(String(h, radix: 16))-\(String(damping.bitPattern, radix: 16))"
    }

    func removeAll() { entries.removeAll() }

    /// Drops every cached inverse of `m` (the streamed mode, once the Linears that share `m` are done).
    func drop(_ m: SymmetricFactor) { entries[ObjectIdentifier(m)] = nil }

    /// Called after a layer's update: drops the cached inverse of each of its factors once its last user is done.
    func release(_ cv: LayerCurvature) {
        for id in [ObjectIdentifier(cv.g), ObjectIdentifier(cv.a)] {
            releaseCount[id, default: 0] += 1
            if releaseCount[id]! >= users[id, default: 0] { entries[id] = nil }
        }
    }

    private var users: [ObjectIdentifier: Int] = [:]
    private var releaseCount: [ObjectIdentifier: Int] = [:]

    /// Counts how many layers use each factor, so a shared factor's inverse is freed after its last user.
    func register(_ cv: LayerCurvature) {
        users[ObjectIdentifier(cv.g), default: 0] += 1
        users[ObjectIdentifier(cv.a), default: 0] += 1
    }
}

extension ShotPruner {
    /// Validates the layer, zeroes its dead rows/columns and (for LLM Surgeon) inverts its damped live factors.
    static func prepare(_ layer: inout PrunableLayer, method: PruneRequest.Method, dampG: Double, dampA: Double,
                        cache: InverseCache, factored: Bool = false) throws -> LayerState {
        let cv = layer.curvature
        guard cv.g.n == layer.R, cv.a.n == layer.C else {
            throw PruningError.shapeMismatch(layer: layer.name,
                                             detail: "Θ is \(layer.R)×\(layer.C), G is \(cv.g.n)², A is \(cv.a.n)²")
        }
        if method != .magnitude {
            if !cv.a.isFinite || !cv.aScale.isFinite { throw PruningError.nonFiniteFactor(layer: layer.name, factor: "A") }
            if method != .lobd && method != .wanda && method != .sparsegpt,
               !cv.g.isFinite || !cv.gScale.isFinite { throw PruningError.nonFiniteFactor(layer: layer.name, factor: "G") }
        }
        let gDiag: [Float]?, aDiag: [Float]?
        switch method {
        case .magnitude, .wanda, .sparsegpt: gDiag = nil; aDiag = nil
        case .lobd: gDiag = nil; aDiag = cv.a.diagonal
        case .llmSurgeon, .kobd: gDiag = cv.g.diagonal.map { $0 * cv.gScale }; aDiag = cv.a.diagonal.map { $0 * cv.aScale }
        }
        let live = LiveSet.find(theta: layer.weight, gDiag: gDiag, aDiag: aDiag)
        live.zeroDead(in: &layer.weight)
        var st = LayerState(live: live, kappa: cv.gScale * cv.aScale)
        if method == .llmSurgeon {
            do {
                st.ginv = try cache.inverse(cv.g, live: live.rows, damping: dampG, factored: factored)
                st.ainv = try cache.inverse(cv.a, live: live.cols, damping: dampA, factored: factored)
            } catch let e as LinearAlgebraError {
                throw PruningError.notPositiveDefinite(layer: layer.name, detail: "damped factor: \(e)")
            }
            st.ginvDiag = [Float](repeating: 0, count: layer.R)
            st.ainvDiag = [Float](repeating: 0, count: layer.C)
            for (i, r) in live.rows.enumerated() { st.ginvDiag[r] = st.ginv.diagonal[i] }
            for (j, c) in live.cols.enumerated() { st.ainvDiag[c] = st.ainv.diagonal[j] }
        }
        return st
    }
}
