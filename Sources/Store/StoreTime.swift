#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A wall-clock instant in unix milliseconds. The store keys deadlines and retry times by it,
/// so one unit is used everywhere: envelope deadlines are whole seconds, but retries through
/// another relay are scheduled well below a second.
public struct StoreTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01 UTC.
    public var millis: UInt64

    public init(millis: UInt64) { self.millis = millis }

    /// Whole unix seconds (an envelope's `timestamp + expiration`), saturating instead of trapping.
    public init(seconds: UInt64) {
        let (value, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        millis = overflow ? UInt64.max : value
    }

    /// The current wall-clock time.
    public static var now: StoreTime {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return StoreTime(millis: UInt64(max(0, ts.tv_sec)) * 1000 + UInt64(max(0, ts.tv_nsec)) / 1_000_000)
    }

    /// Whole seconds, rounded down.
    public var seconds: UInt64 { millis / 1000 }

    /// This instant moved by `milliseconds` (saturating at both ends).
    public func adding(milliseconds: Int64) -> StoreTime {
        if milliseconds >= 0 {
            let (value, overflow) = millis.addingReportingOverflow(UInt64(milliseconds))
            return StoreTime(millis: overflow ? UInt64.max : value)
        }
        let magnitude = milliseconds.magnitude
        return StoreTime(millis: millis > magnitude ? millis - magnitude : 0)
    }

    public static func < (lhs: StoreTime, rhs: StoreTime) -> Bool { lhs.millis < rhs.millis }

    public var description: String { "\(millis)ms" }
}
