import Foundation

/// The ranks of one run and the collectives the pipeline uses (issue 13). `LocalCommunicator` is the one-process
/// twin that everything uses when not launched by MPI; `MPICommunicator` is Open MPI's `MPI_COMM_WORLD`.
///
/// Every reduction is *ordered*: the root adds the ranks' parts as `((p₀ + p₁) + p₂) + …`, so its result depends on
/// the rank count only, never on timing. Sums of disjoint contributions (every element non-zero on one rank only)
/// are exact, so they equal one process's values bit for bit.
public protocol Communicator: AnyObject, Sendable {
    /// This process's rank, 0 ..< size.
    var rank: Int { get }
    /// Ranks in the run.
    var size: Int { get }
    /// A name for messages: `rank 1 of 2 on host-b`.
    var name: String { get }
    /// Payload bytes this rank has sent so far (a broadcast root counts its buffer once per receiver).
    var bytesSent: Int { get }

    func barrier() throws
    /// `buffer` of `root` reaches every rank.
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws
    func send(_ buffer: UnsafeRawBufferPointer, to rank: Int, tag: Int) throws
    func receive(_ buffer: UnsafeMutableRawBufferPointer, from rank: Int, tag: Int) throws
    /// Ends the whole run at once (every rank), with `code`, after a failure on this rank.
    func abort(code: Int32) -> Never
    /// Ends MPI (a no-op for the local twin); after it no collective may run.
    func finalize()
}

/// Why a collective failed.
public struct CommunicatorError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var detail: String
    public init(operation: String, detail: String) { self.operation = operation; self.detail = detail }
    public var description: String { "MPI \(operation) failed: \(detail)" }
}

/// One process: rank 0 of 1. Every collective is the identity.
public final class LocalCommunicator: Communicator, @unchecked Sendable {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var name: String { "rank 0 of 1" }
    public var bytesSent: Int { 0 }
    public func barrier() throws {}
    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {}
    public func send(_ buffer: UnsafeRawBufferPointer, to rank: Int, tag: Int) throws {
        throw CommunicatorError(operation: "send", detail: "a single process has no rank \(rank)")
    }
    public func receive(_ buffer: UnsafeMutableRawBufferPointer, from rank: Int, tag: Int) throws {
        throw CommunicatorError(operation: "receive", detail: "a single process has no rank \(rank)")
    }
    public func abort(code: Int32) -> Never { exit(code) }
    public func finalize() {}
}
