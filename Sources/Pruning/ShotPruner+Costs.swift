import Tensor

extension ShotPruner {
    /// Element costs of §4.1/§4.2 in full coordinates. // (R, C)
    static func elementCosts(_ layer: PrunableLayer, _ st: LayerState, method: PruneRequest.Method) -> [Float] {
        let R = layer.R, C = layer.C
        var u = [Float](repeating: 1, count: R), v = [Float](repeating: 1, count: C)
        switch method {
        case .llmSurgeon: u = reciprocalOrZero(st.ginvDiag).map { $0 * st.kappa }; v = reciprocalOrZero(st.ainvDiag)
        case .kobd: u = layer.curvature.g.diagonal.map { $0 * st.kappa }; v = layer.curvature.a.diagonal
        case .lobd: v = layer.curvature.a.diagonal
        case .magnitude, .wanda, .sparsegpt: break
        }
        var out = [Float](repeating: 0, count: R * C)
        scaledSquareCosts(&out, theta: layer.weight.data, u: u, v: v, R: R, C: C)
        return out
    }

    /// Row and column costs of §4.1/§4.2 in full coordinates. // (R), (C)
    static func rowColumnCosts(_ layer: PrunableLayer, _ st: LayerState,
                               method: PruneRequest.Method) -> (rows: [Float], cols: [Float]) {
        let R = layer.R, C = layer.C, th = layer.weight.data, cv = layer.curvature
        var rows = [Float](repeating: 0, count: R), cols = [Float](repeating: 0, count: C)
        switch method {
        case .llmSurgeon, .kobd:
            _ = rowQuadraticForms(&rows, theta: th, m: cv.a.data, scale: 0.5 * st.kappa, R: R, C: C)
            _ = columnQuadraticForms(&cols, theta: th, m: cv.g.data, scale: 0.5 * st.kappa, R: R, C: C)
            if method == .llmSurgeon {
                let gi = reciprocalOrZero(st.ginvDiag), ai = reciprocalOrZero(st.ainvDiag)
                for r in 0..<R { rows[r] *= gi[r] }
                for c in 0..<C { cols[c] *= ai[c] }
            } else {
                let gd = cv.g.diagonal, ad = cv.a.diagonal
                for r in 0..<R { rows[r] *= gd[r] }
                for c in 0..<C { cols[c] *= ad[c] }
            }
        case .lobd, .magnitude, .wanda, .sparsegpt:
            let ad: [Float] = method == .lobd ? cv.a.diagonal : [Float](repeating: 1, count: C)
            var colAcc = [Double](repeating: 0, count: C)
            for r in 0..<R {
                var s = 0.0
                for c in 0..<C {
                    let x = Double(th[r * C + c]); let x2 = x * x
                    s += x2 * Double(ad[c]); colAcc[c] += x2
                }
                rows[r] = method == .lobd ? Float(0.5 * s) : Float(s.squareRoot())
            }
            for c in 0..<C { cols[c] = method == .lobd ? Float(0.5 * colAcc[c] * Double(ad[c])) : Float(colAcc[c].squareRoot()) }
        }
        zeroNonFinite(&rows); zeroNonFinite(&cols)
        return (rows, cols)
    }

    /// Joint cost of removing `member`'s rows or columns of one matrix (before summing over a coupled structure;
    /// magnitude returns the sum of squares). `product` is `Θ·A` for rows, `G·Θ` for columns (unscaled). // (R, C)
    static func memberCost(_ member: CouplingPlan.Member, _ layer: PrunableLayer, _ st: LayerState, product: [Float],
                           method: PruneRequest.Method) throws -> Double {
        let R = layer.R, C = layer.C, th = layer.weight.data, cv = layer.curvature
        let isRow = member.axis == .rows
        let liveList = isRow ? st.live.rows : st.live.cols
        var pos = [Int: Int]()
        for (i, x) in liveList.enumerated() { pos[x] = i }
        let idx = member.indices.filter { pos[$0] != nil }
        let k = idx.count
        if k == 0 { return 0 }
        switch method {
        case .lobd, .magnitude, .wanda, .sparsegpt:
            let ad = cv.a.diagonal
            var s = 0.0
            for x in idx {
                if isRow { for c in 0..<C { let t = Double(th[x * C + c]); s += t * t * (method == .lobd ? 0.5 * Double(ad[c]) : 1) } }
                else { for r in 0..<R { let t = Double(th[r * C + x]); s += t * t * (method == .lobd ? 0.5 * Double(ad[x]) : 1) } }
            }
            return s
        case .llmSurgeon, .kobd:
            var p = [Double](repeating: 0, count: k * k)  // (k, k) Θ_ℛ A Θ_ℛᵀ or Θ_𝒮ᵀ G Θ_𝒮
            for i in 0..<k { for j in 0..<k {
                var s = 0.0
                if isRow { for c in 0..<C { s += Double(product[idx[i] * C + c]) * Double(th[idx[j] * C + c]) } }
                else { for r in 0..<R { s += Double(th[r * C + idx[i]]) * Double(product[r * C + idx[j]]) } }
                p[i * k + j] = s
            } }
            var m = [Double](repeating: 0, count: k * k)
            if method == .kobd {
                let f = isRow ? cv.g : cv.a
                for i in 0..<k { for j in 0..<k { m[i * k + j] = Double(f.data[idx[i] * f.n + idx[j]]) } }
                var tr = 0.0
                for i in 0..<k { for j in 0..<k { tr += m[i * k + j] * p[j * k + i] } }
                return 0.5 * Double(st.kappa) * tr
            }
            let sub = idx.map { pos[$0]! }
            m = (isRow ? st.ginv : st.ainv).block(sub, sub).map(Double.init)
            do { try SPD.solve(m, n: k, &p, nrhs: k) } catch {
                throw PruningError.notPositiveDefinite(layer: layer.name, detail: "inverse block of \(k) coupled \(member.axis.rawValue): \(error)")
            }
            var tr = 0.0
            for i in 0..<k { tr += p[i * k + i] }
            return 0.5 * Double(st.kappa) * tr
        }
    }
}
