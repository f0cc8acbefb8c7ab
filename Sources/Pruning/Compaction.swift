import Foundation
import Model

/// Deletes the FFN neurons and attention heads that coupled structured pruning removed (method.md §19.2).
///
/// A structure is "removed" when its contribution to the residual stream is exactly zero, read from the
/// weights themselves (no mask file needed):
/// - FFN neuron i: row i of `gate` or `up`, or column i of `down`, is all zeros (silu(0)·u = g·0 = 0);
/// - query head h: its `D` columns of `o` are all zeros;
/// - KV head g: every query head that reads it is removed.
/// Deleting such structures leaves the function unchanged (up to BLAS summation order). A block left with no
/// head (or no neuron) but an o_proj (down_proj) bias keeps one, so that the bias is still added.
public enum Compaction {
    /// What survives in one block (indices into the dense block).
    public struct LayerPlan: Codable, Sendable, Equatable {
        public var neurons: [Int]
        public var heads: [Int]
        public var kvHeads: [Int]
    }

    /// The surviving structures of every block, plus the dense widths they came from.
    public struct Plan: Codable, Sendable, Equatable {
        public var layers: [LayerPlan]
        public var denseFFN: [Int]
        public var denseHeads: [Int]
        public var denseKVHeads: [Int]

        /// Number of whole structures (neurons, heads) the plan deletes.
        public var removedStructures: Int {
            zip(layers, zip(denseFFN, denseHeads)).reduce(0) { $0 + ($1.1.0 - $1.0.neurons.count) + ($1.1.1 - $1.0.heads.count) }
        }
    }

    /// Errors that say what is possible instead.
    public enum Failure: Error, CustomStringConvertible {
        case notStructured(String)
        case unsupported(String)
        case notUniform(String)

        public var description: String {
            switch self {
            case .notStructured(let s), .unsupported(let s), .notUniform(let s): return s
            }
        }
    }

    /// Reads the surviving structures from the weights. Throws `.notStructured` when the model has zeros
    /// but no whole neuron or head is removed (an unstructured or row/column result cannot be compacted).
    public static func plan(_ model: TransformerModel) throws -> Plan {
        guard model.config.architecture.isLlamaLike else {
            throw Failure.unsupported("compaction supports the Llama family only (this model is \(model.config.architecture.rawValue)); export it dense instead")
        }
        let d = model.headDim
        var layers: [LayerPlan] = []
        for blk in model.blocks {
            let gate = blk.linears[4], up = blk.linears[5], down = blk.linears[6], o = blk.linears[3]
            let f = blk.ffnWidth, c = down.rows
            var neurons: [Int] = []
            for i in 0..<f {
                let g = gate.weight[(i * gate.cols)..<((i + 1) * gate.cols)].contains { $0 != 0 }
                let u = up.weight[(i * up.cols)..<((i + 1) * up.cols)].contains { $0 != 0 }
                var dn = false
                for r in 0..<c where down.weight[r * f + i] != 0 { dn = true; break }
                if g && u && dn { neurons.append(i) }
            }
            var heads: [Int] = []
            let hd = blk.heads * d
            for h in 0..<blk.heads {
                var alive = false
                outer: for r in 0..<o.rows {
                    for j in (h * d)..<((h + 1) * d) where o.weight[r * hd + j] != 0 { alive = true; break outer }
                }
                if alive { heads.append(h) }
            }
            // A block whose every head (or neuron) is gone still adds o_proj's (down_proj's) bias when
            // `bias_compensation` gave it one: one structure stays, its output columns zero, to carry the bias.
            if heads.isEmpty, blk.heads > 0, o.bias?.contains(where: { $0 != 0 }) == true { heads = [0] }
            if neurons.isEmpty, f > 0, down.bias?.contains(where: { $0 != 0 }) == true { neurons = [0] }
            let kv = Array(Set(heads.map { blk.kvHeadOf[$0] })).sorted()
            layers.append(LayerPlan(neurons: neurons, heads: heads, kvHeads: kv))
        }
        let plan = Plan(layers: layers, denseFFN: model.blocks.map(\.ffnWidth), denseHeads: model.blocks.map(\.heads),
                        denseKVHeads: model.blocks.map(\.kvHeads))
        if plan.removedStructures == 0, SurgeonRunner.sparsity(model) > 0.001 {
            throw Failure.notStructured(String(format: "no whole FFN neuron or attention head is removed, but %.1f%% of the prunable weights are zero: this is not a coupled structured result, so it cannot be compacted. Export it dense (without --compact), or prune with --structure coupled.", 100 * SurgeonRunner.sparsity(model)))
        }
        return plan
    }

    /// The model with the removed structures deleted. Heads keep their original KV head through
    /// `kvHeadOf`, so groups may have different sizes (exact; Surgeon's engine runs it as is).
    public static func apply(_ plan: Plan, to model: TransformerModel) throws -> TransformerModel {
        guard plan.layers.count == model.blocks.count else {
            throw Failure.unsupported("plan has \(plan.layers.count) layers, model \(model.blocks.count)")
        }
        var out = model
        let d = model.headDim
        for (l, lp) in plan.layers.enumerated() {
            let blk = model.blocks[l]
            let rowsQ = lp.heads.flatMap { h in (h * d)..<((h + 1) * d) }
            let rowsKV = lp.kvHeads.flatMap { g in (g * d)..<((g + 1) * d) }
            var ls = blk.linears
            ls[0] = keepRows(ls[0], rowsQ)
            ls[1] = keepRows(ls[1], rowsKV)
            ls[2] = keepRows(ls[2], rowsKV)
            ls[3] = keepCols(ls[3], rowsQ)
            ls[4] = keepRows(ls[4], lp.neurons)
            ls[5] = keepRows(ls[5], lp.neurons)
            ls[6] = keepCols(ls[6], lp.neurons)
            let kvOf = lp.heads.map { h in lp.kvHeads.firstIndex(of: blk.kvHeadOf[h])! }
            out.blocks[l] = blk.resized(linears: ls, heads: lp.heads.count, kvHeads: lp.kvHeads.count, kvHeadOf: kvOf,
                                        ffnWidth: lp.neurons.count)
        }
        return out
    }

    /// `plan` then `apply`.
    public static func compact(_ model: TransformerModel) throws -> (model: TransformerModel, plan: Plan) {
        let p = try plan(model)
        return (try apply(p, to: model), p)
    }

    /// Rows `rows` of `l` (and of its bias).
    static func keepRows(_ l: Linear, _ rows: [Int]) -> Linear {
        var w = [Float](); w.reserveCapacity(rows.count * l.cols)
        for r in rows { w += l.weight[(r * l.cols)..<((r + 1) * l.cols)] }
        return Linear(name: l.name, role: l.role, rows: rows.count, cols: l.cols, weight: w, bias: l.bias.map { b in rows.map { b[$0] } })
    }

    /// Columns `cols` of `l` (the bias is per row and stays).
    static func keepCols(_ l: Linear, _ cols: [Int]) -> Linear {
        var w = [Float](repeating: 0, count: l.rows * cols.count)
        for r in 0..<l.rows {
            for (j, c) in cols.enumerated() { w[r * cols.count + j] = l.weight[r * l.cols + c] }
        }
        return Linear(name: l.name, role: l.role, rows: l.rows, cols: cols.count, weight: w, bias: l.bias)
    }
}
