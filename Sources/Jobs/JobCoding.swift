import Foundation

/// The JSON coders used for every file the job store writes: snake_case keys come from the types'
/// coding keys, dates are RFC 3339 UTC strings.
public enum JobCoding {
    /// An encoder producing sorted, RFC 3339-dated JSON.
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(rfc3339(date))
        }
        return e
    }

    /// A decoder accepting RFC 3339 dates with or without fractional seconds.
    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .custom { decoder in
            let c = try decoder.singleValueContainer()
            let s = try c.decode(String.self)
            guard let date = parseRFC3339(s) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an RFC 3339 date: \(s)")
            }
            return date
        }
        return d
    }

    /// `2026-11-29T09:06:16.123Z` (milliseconds, truncated). Hand-rolled: `ISO8601DateFormatter`
    /// builds an ICU formatter per call, which dominated the cost of a job status request.
    public static func rfc3339(_ date: Date) -> String {
        let totalMs = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var secs = totalMs / 1000, ms = totalMs % 1000
        if ms < 0 { ms += 1000; secs -= 1 }
        var t = time_t(secs)
        var parts = tm()
        gmtime_r(&t, &parts)
        var out = [UInt8]()
        out.reserveCapacity(24)
        func put(_ v: Int, _ width: Int) {
            var digits = [UInt8](repeating: 48, count: width), n = v, i = width - 1
            while i >= 0 { digits[i] = UInt8(48 + n % 10); n /= 10; i -= 1 }
            out += digits
        }
        put(Int(parts.tm_year) + 1900, 4); out.append(45); put(Int(parts.tm_mon) + 1, 2); out.append(45); put(Int(parts.tm_mday), 2)
        out.append(84); put(Int(parts.tm_hour), 2); out.append(58); put(Int(parts.tm_min), 2); out.append(58); put(Int(parts.tm_sec), 2)
        out.append(46); put(Int(ms), 3); out.append(90)
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses an RFC 3339 timestamp (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`), with or without fractional seconds.
    public static func parseRFC3339(_ s: String) -> Date? {
        let b = Array(s.utf8)
        var i = 0
        func num(_ width: Int) -> Int? {
            guard i + width <= b.count else { return nil }
            var v = 0
            for k in i..<(i + width) {
                guard b[k] >= 48, b[k] <= 57 else { return nil }
                v = v * 10 + Int(b[k] - 48)
            }
            i += width
            return v
        }
        func expect(_ c: UInt8...) -> Bool {
            guard i < b.count, c.contains(b[i]) else { return false }
            i += 1
            return true
        }
        guard let year = num(4), expect(45), let month = num(2), expect(45), let day = num(2), expect(84, 116, 32),
              let hour = num(2), expect(58), let minute = num(2), expect(58), let second = num(2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var fraction = 0.0
        if i < b.count, b[i] == 46 {
            i += 1
            var scale = 0.1, any = false
            while i < b.count, b[i] >= 48, b[i] <= 57 { fraction += Double(b[i] - 48) * scale; scale /= 10; i += 1; any = true }
            guard any else { return nil }
        }
        var offset = 0
        if expect(90, 122) {
        } else if i < b.count, b[i] == 43 || b[i] == 45 {
            let sign = b[i] == 45 ? -1 : 1
            i += 1
            guard let oh = num(2), expect(58), let om = num(2), oh < 24, om < 60 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        } else { return nil }
        guard i == b.count else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900); parts.tm_mon = Int32(month - 1); parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour); parts.tm_min = Int32(minute); parts.tm_sec = Int32(second)
        let epoch = timegm(&parts)
        return Date(timeIntervalSince1970: Double(Int(epoch) - offset) + fraction)
    }
}
