/// A single `Range: bytes=…` request resolved against a file size (RFC 9110 §14).
enum ByteRange: Equatable {
    /// Serve bytes `start ..< start + length` with 206.
    case partial(start: Int, length: Int)
    /// No (usable) range: serve the whole file with 200. Multiple ranges fall back to this too.
    case whole
    /// No satisfiable byte: 416.
    case unsatisfiable

    static func parse(_ header: String?, size: Int) -> ByteRange {
        guard let header = header?.trimmingCharacters(in: .whitespaces), header.lowercased().hasPrefix("bytes=") else { return .whole }
        let spec = header.dropFirst(6).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(",") else { return .whole }
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2 else { return .whole }
        if parts[0].isEmpty {
            guard let n = Int(parts[1]), n >= 0 else { return .whole }
            guard n > 0, size > 0 else { return .unsatisfiable }
            let len = min(n, size)
            return .partial(start: size - len, length: len)
        }
        guard let first = Int(parts[0]), first >= 0 else { return .whole }
        let last: Int
        if parts[1].isEmpty { last = size - 1 } else {
            guard let l = Int(parts[1]), l >= first else { return .whole }
            last = min(l, size - 1)
        }
        guard first < size else { return .unsatisfiable }
        return .partial(start: first, length: last - first + 1)
    }
}
