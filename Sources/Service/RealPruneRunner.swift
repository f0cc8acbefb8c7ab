import Foundation
import Pruning

/// The runner `surgeon serve` uses by default: `SurgeonRunner`, with its log lines turned into
/// job events (a `progress` event repeating the last phase, with the line as its message) and
/// copied to stderr prefixed with the job id.
public struct RealPruneRunner: PruneRunner {
    /// Where log lines also go (stderr by default; `nil`: nowhere).
    public var echo: (@Sendable (String) -> Void)?

    public init(echo: (@Sendable (String) -> Void)? = { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }) {
        self.echo = echo
    }

    public func run(_ request: PruneRequest, outputDirectory: URL,
                    progress: @escaping @Sendable (PruneProgress) -> Void,
                    isCancelled: @escaping @Sendable () -> Bool) throws -> PruneReport {
        let last = LastProgress()
        let job = outputDirectory.deletingLastPathComponent().lastPathComponent
        let echo = self.echo
        let runner = SurgeonRunner(log: { line in
            echo?("surgeon job \(job): \(line)")
            if var p = last.value {
                p.message = line
                progress(p)
            }
        })
        return try runner.run(request, outputDirectory: outputDirectory, progress: { p in
            last.value = p
            progress(p)
        }, isCancelled: isCancelled)
    }
}

/// The latest progress of one run, shared between the runner's callbacks.
private final class LastProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: PruneProgress?
    var value: PruneProgress? {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}
