/// Calibration windows drawn from a tokenized text the way the reference does (method.md §10):
/// `random.seed(seed)`, then `random.sample(range(0, len(ids) − seqlen), samples)` distinct start
/// offsets, each window `ids[i ..< i + seqlen]`, labels = next tokens.
public struct CalibrationSet: Sendable, Equatable {
    /// Start offsets into the token stream, in draw order.
    public var offsets: [Int]
    /// The windows, each `seqlen` token ids.
    public var sequences: [[Int32]]
    public var seqlen: Int

    /// Errors in the calibration settings, raised before any work starts.
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case textTooShort(tokens: Int, seqlen: Int)
        case tooManySamples(samples: Int, available: Int)
        case invalid(String)

        public var description: String {
            switch self {
            case let .textTooShort(tokens, seqlen):
                return "calibration text has \(tokens) tokens, fewer than one sequence of \(seqlen) + 1"
            case let .tooManySamples(samples, available):
                return "asked for \(samples) calibration sequences but the text has only \(available) distinct start offsets"
            case let .invalid(message):
                return message
            }
        }
    }

    /// Draws `samples` windows of `seqlen` tokens from `tokens` with Python's sampler under `seed`.
    ///
    /// `excluding` is a token range no window may touch (a dev split held out of the same text). Offsets
    /// are drawn as `random.sample` draws them; an offset whose window overlaps the range is skipped and the
    /// draw continues, so when nothing overlaps the offsets equal `random.sample(range(n), samples)`.
    public init(tokens: [Int32], samples: Int, seqlen: Int, seed: UInt64, excluding: Range<Int>? = nil) throws {
        guard samples > 0 else { throw Failure.invalid("samples must be at least 1, got \(samples)") }
        guard seqlen > 1 else { throw Failure.invalid("seqlen must be at least 2, got \(seqlen)") }
        guard tokens.count > seqlen else { throw Failure.textTooShort(tokens: tokens.count, seqlen: seqlen) }
        let available = tokens.count - seqlen
        let blocked = excluding.map { ex in max(0, min(available, ex.upperBound) - max(0, ex.lowerBound - seqlen + 1)) } ?? 0
        guard samples <= available - blocked else { throw Failure.tooManySamples(samples: samples, available: available - blocked) }
        var rng = PythonRandom(seed: seed)
        if let ex = excluding, !ex.isEmpty {
            offsets = rng.sample(rangeCount: available, k: samples, accepting: { o in o + seqlen <= ex.lowerBound || o >= ex.upperBound })
        } else {
            offsets = rng.sample(rangeCount: available, k: samples)
        }
        sequences = offsets.map { Array(tokens[$0 ..< $0 + seqlen]) }
        self.seqlen = seqlen
    }
}
