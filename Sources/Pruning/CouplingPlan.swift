/// Coupled structures (method.md §19.1): sets of rows/columns across matrices that are removed together.
public struct CouplingPlan: Sendable {
    public enum Axis: String, Sendable { case rows, columns }

    /// Which member matrices of a coupled structure are scored and updated (`coupled_cost`).
    public enum Cost: String, Codable, Sendable, CaseIterable {
        /// The sum of every member's joint OBS cost, and an OBS update of every member matrix (the first
        /// implementation: gate and up rows, down columns; q rows, o columns; K/V rows).
        case members
        /// Only the matrices that read the structure's output (down columns of a neuron, o columns of a head) are
        /// scored and updated. Once they are gone nothing reads the producing rows (gate/up, q, K/V), so removing
        /// those changes nothing: they are zeroed without an update, which would only move other neurons' or
        /// heads' weights to make up for an output nobody reads.
        case outputs

        /// Whether `member` is scored and updated under this choice (columns are the reading side).
        func counts(_ member: Member) -> Bool { self == .members || member.axis == .columns }
    }

    /// Some rows or columns of one prunable matrix (`layer` indexes the driver's layer array).
    public struct Member: Sendable, Equatable {
        public var layer: Int
        public var axis: Axis
        public var indices: [Int]
        public init(layer: Int, axis: Axis, indices: [Int]) { self.layer = layer; self.axis = axis; self.indices = indices }
    }

    public enum Kind: String, Sendable { case neuron, head }

    /// One removable unit (an FFN neuron, a query head), optionally part of a KV group.
    public struct Structure: Sendable {
        public var name: String
        public var members: [Member]
        /// Index into `groups` when removing every structure of that group also removes the group's members.
        public var group: Int?
        /// The decoder block it belongs to and what it is (the `--uniform` constraint counts per block and kind).
        public var block: Int
        public var kind: Kind
        public init(name: String, members: [Member], group: Int? = nil, block: Int = 0, kind: Kind = .neuron) {
            self.name = name; self.members = members; self.group = group; self.block = block; self.kind = kind
        }
    }

    /// Parameters removed only when all `count` structures pointing at the group are removed (GQA K/V rows).
    public struct Group: Sendable {
        public var count: Int
        public var members: [Member]
        public init(count: Int, members: [Member]) { self.count = count; self.members = members }
    }

    public var structures: [Structure]
    public var groups: [Group]

    public init(structures: [Structure], groups: [Group]) { self.structures = structures; self.groups = groups }

    /// Layer indices of one Llama decoder block's seven matrices.
    public struct LlamaBlock: Sendable {
        public var q, k, v, o, gate, up, down: Int
        public init(q: Int, k: Int, v: Int, o: Int, gate: Int, up: Int, down: Int) {
            self.q = q; self.k = k; self.v = v; self.o = o; self.gate = gate; self.up = up; self.down = down
        }
    }

    /// FFN neurons (gate row i, up row i, down column i) and query heads (q rows, o columns of head h; the K/V
    /// rows of KV group g go once all `heads/kvHeads` query heads of the group are gone).
    public static func llama(blocks: [LlamaBlock], heads: Int, kvHeads: Int, headDim: Int, ffn: Int) -> CouplingPlan {
        var structures: [Structure] = [], groups: [Group] = []
        let perGroup = heads / max(kvHeads, 1)
        for (b, blk) in blocks.enumerated() {
            let groupBase = groups.count
            for g in 0..<kvHeads {
                let rows = Array(g * headDim..<(g + 1) * headDim)
                groups.append(Group(count: perGroup, members: [Member(layer: blk.k, axis: .rows, indices: rows),
                                                               Member(layer: blk.v, axis: .rows, indices: rows)]))
            }
            for h in 0..<heads {
                let idx = Array(h * headDim..<(h + 1) * headDim)
                structures.append(Structure(name: "blk.\(b).head.\(h)",
                                            members: [Member(layer: blk.q, axis: .rows, indices: idx),
                                                      Member(layer: blk.o, axis: .columns, indices: idx)],
                                            group: groupBase + h / perGroup, block: b, kind: .head))
            }
            for i in 0..<ffn {
                structures.append(Structure(name: "blk.\(b).ffn.\(i)",
                                            members: [Member(layer: blk.gate, axis: .rows, indices: [i]),
                                                      Member(layer: blk.up, axis: .rows, indices: [i]),
                                                      Member(layer: blk.down, axis: .columns, indices: [i])],
                                            block: b, kind: .neuron))
            }
        }
        return CouplingPlan(structures: structures, groups: groups)
    }
}
