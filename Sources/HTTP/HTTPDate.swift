import Foundation

/// IMF-fixdate strings (`Sun, 06 Nov 1994 08:49:37 GMT`) for the `Date` header, cached per second.
public enum HTTPDate {
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    private static let cache = Cache()

    private final class Cache: @unchecked Sendable {
        let lock = NSLock()
        var second: time_t = -1
        var text = ""
    }

    /// The date header value for `seconds` since 1970.
    public static func string(from seconds: time_t) -> String {
        var t = seconds
        var tm = tm()
        gmtime_r(&t, &tm)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(days[Int(tm.tm_wday)]), \(two(tm.tm_mday)) \(months[Int(tm.tm_mon)]) \(tm.tm_year + 1900) "
            + "\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT"
    }

    /// The current date header value.
    public static func now() -> String {
        let seconds = time(nil)
        cache.lock.lock(); defer { cache.lock.unlock() }
        if cache.second != seconds { cache.second = seconds; cache.text = string(from: seconds) }
        return cache.text
    }
}
