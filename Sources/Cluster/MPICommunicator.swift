import CMPI
import Foundation

/// Open MPI's `MPI_COMM_WORLD`, initialised once per process (`MPI_THREAD_FUNNELED`: only the thread that
/// initialised calls MPI). Errors come back as `CommunicatorError` (`MPI_ERRORS_RETURN`), not an abort.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    public let name: String
    private let lock = NSLock()
    private var sent = 0
    private var finalized = false
    private let world = surgeon_mpi_comm_world()

    /// Messages are split so no count exceeds `Int32.max` bytes.
    private static let maxMessage = 1 << 30

    init() throws {
        var provided: Int32 = 0
        let rc = MPI_Init_thread(nil, nil, surgeon_mpi_thread_funneled(), &provided)
        guard rc == MPI_SUCCESS else { throw CommunicatorError(operation: "MPI_Init_thread", detail: Self.errorString(rc)) }
        MPI_Comm_set_errhandler(world, surgeon_mpi_errors_return())
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(world, &r)
        MPI_Comm_size(world, &s)
        rank = Int(r); size = Int(s)
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count - 1)
        name = "rank \(r) of \(s) on \(Self.text(host))"
    }

    public var bytesSent: Int { lock.withLock { sent } }

    private func check(_ rc: Int32, _ operation: String) throws {
        guard rc == MPI_SUCCESS else { throw CommunicatorError(operation: operation, detail: "\(name): \(Self.errorString(rc))") }
    }

    static func errorString(_ rc: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(surgeon_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        MPI_Error_string(rc, &buffer, &length)
        return "\(text(buffer)) (code \(rc))"
    }

    /// A NUL-terminated C string in `chars`.
    static func text(_ chars: [CChar]) -> String {
        String(decoding: chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func barrier() throws { try check(MPI_Barrier(world), "barrier") }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws {
        var start = 0
        while start < buffer.count {
            let n = min(Self.maxMessage, buffer.count - start)
            try check(MPI_Bcast(buffer.baseAddress! + start, Int32(n), surgeon_mpi_byte(), Int32(root), world), "broadcast")
            start += n
        }
        if rank == root { lock.withLock { sent += buffer.count * (size - 1) } }
    }

    public func send(_ buffer: UnsafeRawBufferPointer, to other: Int, tag: Int) throws {
        var start = 0
        while start < buffer.count {
            let n = min(Self.maxMessage, buffer.count - start)
            try check(MPI_Send(buffer.baseAddress! + start, Int32(n), surgeon_mpi_byte(), Int32(other), Int32(tag), world), "send to rank \(other)")
            start += n
        }
        lock.withLock { sent += buffer.count }
    }

    public func receive(_ buffer: UnsafeMutableRawBufferPointer, from other: Int, tag: Int) throws {
        var start = 0
        while start < buffer.count {
            let n = min(Self.maxMessage, buffer.count - start)
            try check(MPI_Recv(buffer.baseAddress! + start, Int32(n), surgeon_mpi_byte(), Int32(other), Int32(tag), world,
                               surgeon_mpi_status_ignore()), "receive from rank \(other)")
            start += n
        }
    }

    public func abort(code: Int32) -> Never {
        MPI_Abort(world, code)
        exit(code)
    }

    public func finalize() {
        lock.withLock {
            guard !finalized else { return }
            finalized = true
            MPI_Finalize()
        }
    }
}

/// The communicator of this process: MPI's world when `mpirun` (or another Open MPI launcher) started it, else
/// the one-process twin. Created once; MPI is never initialised in a process that was not launched by MPI.
public enum Cluster {
    nonisolated(unsafe) private static var cached: (any Communicator)?
    private static let lock = NSLock()

    /// True when an Open MPI launcher started this process (it sets `OMPI_COMM_WORLD_SIZE`; PMIx launchers set
    /// `PMIX_RANK`).
    public static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil
    }

    public static func world() throws -> any Communicator {
        try lock.withLock {
            if let c = cached { return c }
            let c: any Communicator = launchedByMPI ? try MPICommunicator() : LocalCommunicator()
            cached = c
            return c
        }
    }
}
