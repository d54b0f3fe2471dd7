/// Time-to-live rules of envelope.md §4. All values are unix seconds.
public enum Expiration {
    /// The peer's outgoing clamp: 0 → 300, anything above 1800 → 1800.
    public static let defaultTTL: UInt64 = 300
    public static let maximumTTL: UInt64 = 1800

    public static func clamp(_ expiration: UInt64) -> UInt64 {
        expiration == 0 ? defaultTTL : min(expiration, maximumTTL)
    }

    /// Remaining seconds, or nil when expired (exactly zero counts as expired).
    public static func ttl(now: UInt64, timestamp: UInt64, expiration: UInt64) -> UInt64? {
        let (deadline, overflow) = timestamp.addingReportingOverflow(expiration)
        if overflow { return UInt64.max - now }
        return deadline > now ? deadline - now : nil
    }

    /// Re-stamps `(timestamp, expiration)` at `now`, keeping the deadline: a missing or future
    /// timestamp is reset and the ttl kept; a past one shortens the ttl (never below 0).
    public static func stamp(now: UInt64, timestamp: UInt64, expiration: UInt64) -> (timestamp: UInt64, expiration: UInt64) {
        if timestamp == 0 || timestamp > now { return (now, expiration) }
        let elapsed = now - timestamp
        return (now, expiration > elapsed ? expiration - elapsed : 0)
    }
}

extension RMBEnvelope {
    /// Remaining ttl at `now`, or nil when the envelope has expired.
    public func ttl(now: UInt64) -> UInt64? {
        Expiration.ttl(now: now, timestamp: timestamp, expiration: expiration)
    }

    /// Whether the envelope is still alive at `now`.
    public func isValid(now: UInt64) -> Bool { ttl(now: now) != nil }

    /// Applies ``Expiration/stamp(now:timestamp:expiration:)`` in place.
    public mutating func stamp(now: UInt64) {
        (timestamp, expiration) = Expiration.stamp(now: now, timestamp: timestamp, expiration: expiration)
    }
}

/// Current unix time in milliseconds.
public func unixNowMillis() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return UInt64(max(0, ts.tv_sec)) * 1000 + UInt64(max(0, ts.tv_nsec)) / 1_000_000
}

/// Current unix time in seconds.
public func unixNow() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return UInt64(max(0, ts.tv_sec))
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
