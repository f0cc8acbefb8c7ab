import Foundation

/// Wall-clock seconds per named phase, summed over repeated calls.
public final class PhaseTimer: @unchecked Sendable {
    private let start = Date()
    private let lock = NSLock()
    private var totals: [String: Double] = [:]
    private var peakBytes: [String: Int] = [:]

    public init() {}

    /// Runs `body` and adds its duration to `phase`, and its peak resident set to the phase's peak.
    public func time<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
        let t0 = Date()
        MemoryProbe.resetPeak()
        defer {
            add(phase, Date().timeIntervalSince(t0))
            let p = MemoryProbe.peak()
            lock.lock(); peakBytes[phase] = max(peakBytes[phase] ?? 0, p); lock.unlock()
        }
        return try body()
    }

    /// Peak resident bytes per phase (measured with `MemoryProbe`).
    public var peaks: [String: Int] { lock.lock(); defer { lock.unlock() }; return peakBytes }

    public func add(_ phase: String, _ seconds: Double) {
        lock.lock(); totals[phase, default: 0] += seconds; lock.unlock()
    }

    public var seconds: [String: Double] { lock.lock(); defer { lock.unlock() }; return totals }
    public var elapsed: Double { Date().timeIntervalSince(start) }

    /// Peak resident set size of this process so far.
    public static func peakRSSBytes() -> Int { MemoryProbe.overallPeak() }
}

/// The process's resident memory from `/proc/self/status`, with a peak that can be reset per phase
/// (`/proc/self/clear_refs` ← 5 resets `VmHWM`); the overall peak survives the resets.
public enum MemoryProbe {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var folded = 0

    /// `VmHWM`: the peak since the last reset (or start).
    public static func peak() -> Int { status("VmHWM:") ?? rusagePeak() }
    /// `VmRSS`: resident now.
    public static func current() -> Int { status("VmRSS:") ?? 0 }

    /// Starts a new peak window (folding the old window's peak into the overall one). Freed heap memory is handed
    /// back to the system first (`malloc_trim`): glibc keeps freed chunks below its adaptive mmap threshold, which
    /// after a shot's factors and inverses would otherwise stay resident through the phases that follow.
    public static func resetPeak() {
        lock.lock(); defer { lock.unlock() }
        folded = max(folded, peak())
        _ = glibcMallocTrim(0)
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        if fd >= 0 { _ = "5".withCString { write(fd, $0, 1) }; close(fd) }
    }

    /// The peak over the whole process life.
    public static func overallPeak() -> Int {
        lock.lock(); defer { lock.unlock() }
        return max(folded, peak())
    }

    private static func rusagePeak() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(0), &usage)  // RUSAGE_SELF
        return usage.ru_maxrss * 1024
    }

    private static func status(_ key: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key) {
            let digits = line.dropFirst(key.count).trimmingCharacters(in: .whitespaces).split(separator: " ").first
            return digits.flatMap { Int($0) }.map { $0 * 1024 }
        }
        return nil
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

/// glibc's `malloc_trim` (declared in `<malloc.h>`, which Swift's Glibc module does not export).
@_silgen_name("malloc_trim") private func glibcMallocTrim(_ pad: Int) -> Int32
