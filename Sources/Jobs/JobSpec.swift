import Foundation
import Pruning
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Everything that defines a job and never changes after submission (`request.json`).
public struct JobSpec: Codable, Sendable, Equatable {
    /// The prune as the client sent it (model and texts by name); compared for idempotency.
    public var request: PruneRequest
    /// The same prune with names resolved to server paths: what the runner receives.
    public var resolved: PruneRequest
    /// The token name that owns the job; other owners cannot see it.
    public var owner: String
    /// The client's `Idempotency-Key`, if any.
    public var idempotencyKey: String?
    /// Estimated peak memory, computed before queueing.
    public var memoryEstimateBytes: Int?
    /// The input files as they were at submission, by content; checked before every attempt
    /// (empty for jobs stored before inputs were pinned).
    public var inputs: [PinnedInput]

    public init(request: PruneRequest, resolved: PruneRequest? = nil, owner: String,
                idempotencyKey: String? = nil, memoryEstimateBytes: Int? = nil, inputs: [PinnedInput] = []) {
        self.request = request; self.resolved = resolved ?? request; self.owner = owner
        self.idempotencyKey = idempotencyKey; self.memoryEstimateBytes = memoryEstimateBytes; self.inputs = inputs
    }

    enum CodingKeys: String, CodingKey {
        case request, resolved, owner, inputs
        case idempotencyKey = "idempotency_key", memoryEstimateBytes = "memory_estimate_bytes"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        request = try c.decode(PruneRequest.self, forKey: .request)
        resolved = try c.decode(PruneRequest.self, forKey: .resolved)
        owner = try c.decode(String.self, forKey: .owner)
        idempotencyKey = try c.decodeIfPresent(String.self, forKey: .idempotencyKey)
        memoryEstimateBytes = try c.decodeIfPresent(Int.self, forKey: .memoryEstimateBytes)
        inputs = try c.decodeIfPresent([PinnedInput].self, forKey: .inputs) ?? []
    }
}

/// One input file of a job, pinned by its content at submission.
public struct PinnedInput: Codable, Sendable, Equatable {
    /// `model`, `calibration` or `eval`: the request field it fills.
    public var role: String
    /// The name the client gave.
    public var name: String
    /// Hex SHA-256 of the bytes at submission.
    public var sha256: String
    public var size: Int
    /// The file the runner reads (the path in `JobSpec.resolved`).
    public var path: String
    /// `true` when `path` is the job's own hard link (or copy) made at submission, in its `inputs/`
    /// directory: a re-upload or delete of the name cannot change it. `false` for a registered server
    /// file, which must still be the same file (`identity`) before every attempt.
    public var linked: Bool
    /// Device, inode, size and modification time of a registered file at submission (`identity(ofFile:)`):
    /// replacing or rewriting the file changes it.
    public var identity: String?

    public init(role: String, name: String, sha256: String, size: Int, path: String, linked: Bool, identity: String? = nil) {
        self.role = role; self.name = name; self.sha256 = sha256; self.size = size; self.path = path; self.linked = linked
        self.identity = identity
    }

    /// `dev:inode:size:mtime_ns` of the file at `path`, or `nil` when it cannot be read.
    public static func identity(ofFile path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return "\(st.st_dev):\(st.st_ino):\(st.st_size):\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
    }
}

/// A pinned input that is gone or no longer holds the bytes the job was submitted with.
public struct JobInputError: CodedRunnerError, CustomStringConvertible {
    public var input: PinnedInput
    /// `nil`: the file is gone; otherwise what was found instead.
    public var found: String?

    public var failureCode: String { found == nil ? "input_missing" : "input_changed" }
    public var description: String {
        let what = "the \(input.role) \(input.name) (sha256 \(input.sha256), pinned when the job was submitted)"
        guard let found else { return "\(what) is gone from the server; submit the job again" }
        return "\(what) has changed (\(found)); submit the job again to use the new file"
    }
}
