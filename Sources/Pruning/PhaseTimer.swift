import Foundation

/// Wall-clock seconds per named phase, summed over repeated calls.
public final class PhaseTimer: @unchecked Sendable {
    private let start = Date()
    private let lock = NSLock()
    private var totals: [String: Double] = [:]

    public init() {}

    /// Runs `body` and adds its duration to `phase`.
    public func time<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
        let t0 = Date()
        defer { add(phase, Date().timeIntervalSince(t0)) }
        return try body()
    }

    public func add(_ phase: String, _ seconds: Double) {
        lock.lock(); totals[phase, default: 0] += seconds; lock.unlock()
    }

    public var seconds: [String: Double] { lock.lock(); defer { lock.unlock() }; return totals }
    public var elapsed: Double { Date().timeIntervalSince(start) }

    /// Peak resident set size of this process so far.
    public static func peakRSSBytes() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(0), &usage)  // RUSAGE_SELF
        return usage.ru_maxrss * 1024
    }
}

/// Turns phase-local progress into overall fraction and ETA for `PruneProgress`.
final class ProgressTracker: @unchecked Sendable {
    let shots: Int
    let evaluates: Bool
    let report: @Sendable (PruneProgress) -> Void
    let start = Date()
    private let lock = NSLock()
    private var lastSent = Date.distantPast

    init(shots: Int, evaluates: Bool, report: @escaping @Sendable (PruneProgress) -> Void) {
        self.shots = shots; self.evaluates = evaluates; self.report = report
    }

    /// Weight of each phase within a shot (measured on SmolLM2: curvature dominates).
    private func span(_ phase: String) -> (Double, Double) {
        switch phase {
        case "curvature": return (0, 0.5)
        case "costs", "threshold", "inverses": return (0.5, 0.62)
        case "update": return (0.62, 0.72)
        case "lora": return (0.72, evaluates ? 0.85 : 1)
        case "evaluating": return (0.85, 1)
        default: return (0, 1)
        }
    }

    func update(phase: String, shot: Int, fraction: Double, layer: Int? = nil, layers: Int? = nil, message: String) {
        let overall: Double
        switch phase {
        case "loading": overall = 0
        case "done": overall = 1
        case "saving": overall = 0.999
        default:
            let (a, b) = span(phase)
            let within = a + (b - a) * min(max(fraction, 0), 1)
            overall = shot == 0 ? 0 : min(1, (Double(shot - 1) + within) / Double(max(shots, 1)))
        }
        let now = Date()
        lock.lock()
        let throttle = now.timeIntervalSince(lastSent) < 0.2 && phase != "done" && fraction < 1
        if !throttle { lastSent = now }
        lock.unlock()
        if throttle { return }
        let elapsed = now.timeIntervalSince(start)
        let eta = overall > 0.01 ? elapsed / overall * (1 - overall) : nil
        report(PruneProgress(phase: phase, shot: shot, shots: shots, layer: layer, layers: layers,
                             fraction: overall, etaSeconds: eta, message: message))
    }
}
