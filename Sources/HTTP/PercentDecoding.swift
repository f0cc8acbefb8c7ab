/// Percent-decoding and splitting of request targets.
extension String {
    /// Decodes `%XX` escapes (and `+` as space when `plusAsSpace`); `nil` for a broken escape or
    /// bytes that are not UTF-8.
    public func percentDecoded(plusAsSpace: Bool = false) -> String? {
        let utf8 = Array(self.utf8)
        guard utf8.contains(37) || (plusAsSpace && utf8.contains(43)) else { return self }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count)
        var i = 0
        while i < utf8.count {
            let b = utf8[i]
            if b == 37 {
                guard i + 2 < utf8.count, let hi = hexValue(utf8[i + 1]), let lo = hexValue(utf8[i + 2]) else { return nil }
                out.append(UInt8(hi << 4 | lo)); i += 3
            } else {
                out.append(plusAsSpace && b == 43 ? 32 : b); i += 1
            }
        }
        return String(validating: out, as: UTF8.self)
    }
}

/// Splits a request target into its decoded path and query parameters.
public enum HTTPRequestTarget {
    /// `("/v1/jobs", [("limit", "10")])` for `/v1/jobs?limit=10`; `nil` for broken percent-encoding.
    /// Absolute-form targets (`http://host/path`) are reduced to their path.
    public static func split(_ target: String) -> (path: String, query: [(name: String, value: String)])? {
        var rest = Substring(target)
        if !rest.hasPrefix("/"), let scheme = rest.range(of: "://") {
            let afterHost = rest[scheme.upperBound...]
            rest = afterHost.firstIndex(of: "/").map { afterHost[$0...] } ?? "/"
        }
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let rawPath: Substring, rawQuery: Substring?
        if let q = rest.firstIndex(of: "?") { rawPath = rest[..<q]; rawQuery = rest[rest.index(after: q)...] } else { rawPath = rest; rawQuery = nil }
        guard let path = String(rawPath).percentDecoded() else { return nil }
        var query: [(name: String, value: String)] = []
        for pair in (rawQuery ?? "").split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = String(parts[0]).percentDecoded(plusAsSpace: true),
                  let value = (parts.count > 1 ? String(parts[1]) : "").percentDecoded(plusAsSpace: true) else { return nil }
            query.append((name, value))
        }
        return (path, query)
    }
}
