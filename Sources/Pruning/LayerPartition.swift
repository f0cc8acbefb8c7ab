import Cluster

/// Which rank owns each prunable Linear of a distributed run (issue 13): whole decoder blocks, round-robin, so the
/// coupled structures (which live inside one block) and the shared inputs of q/k/v and gate/up have one owner.
/// The owner alone holds the Linear's reduced factors and computes its inverses, costs and update; the costs and
/// the updated weights are then sent to every rank. In one process every Linear is owned.
public struct LayerPartition: @unchecked Sendable {
    public let communicator: any Communicator
    /// The owning rank of each Linear (`model.linearIDs` order).
    public let owner: [Int]

    /// `blocks[i]` is Linear i's decoder block.
    public init(communicator: any Communicator, blocks: [Int]) {
        self.communicator = communicator
        owner = blocks.map { $0 % communicator.size }
    }

    /// One process: rank 0 owns all `count` Linears.
    public static func local(count: Int) -> LayerPartition {
        LayerPartition(communicator: LocalCommunicator(), blocks: [Int](repeating: 0, count: count))
    }

    public var isDistributed: Bool { communicator.size > 1 }
    public func owns(_ i: Int) -> Bool { owner[i] == communicator.rank }
}
