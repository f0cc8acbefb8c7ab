/// Where a job is in its lifecycle (see `docs/state_machine.md`). Clients must tolerate new values.
public enum JobStatus: String, Codable, Sendable, CaseIterable {
    case queued, running, cancelling, succeeded, failed, cancelled

    /// `true` for `succeeded`, `failed` and `cancelled`: nothing more will happen to the job.
    public var isTerminal: Bool {
        switch self {
        case .succeeded, .failed, .cancelled: return true
        case .queued, .running, .cancelling: return false
        }
    }
}
