import Logging
import Synchronization

/// Logs repeated events of one kind at most once per interval, with how many were left out
/// since the last line: a client that sends garbage or opens sockets in a loop, or a backlog
/// retried batch by batch while no relay is up, cannot flood the log. Kinds are a fixed set of
/// strings chosen by the code (never outside input), so the table stays small.
public final class LogThrottle: Sendable {
    private struct Entry { var lastLogged: Duration; var leftOut: Int }
    private let interval: Duration
    private let stopwatch: Stopwatch
    private let entries = Mutex<[String: Entry]>([:])

    public init(interval: Duration = .seconds(10), stopwatch: Stopwatch = Stopwatch(ContinuousClock())) {
        self.interval = interval
        self.stopwatch = stopwatch
    }

    /// The total `amount` of the events of `kind` since the last line, this one included, if
    /// this one is logged; nil when it is left out.
    public func admit(_ kind: String, amount: Int = 1) -> Int? {
        let instant = stopwatch.elapsed()
        return entries.withLock { entries -> Int? in
            if var entry = entries[kind] {
                guard instant - entry.lastLogged >= interval else {
                    entry.leftOut += amount
                    entries[kind] = entry
                    return nil
                }
                entries[kind] = Entry(lastLogged: instant, leftOut: 0)
                return entry.leftOut + amount
            }
            entries[kind] = Entry(lastLogged: instant, leftOut: 0)
            return amount
        }
    }

    /// Logs `message` unless a line of `kind` was logged less than the interval ago; the line
    /// carries, under `countKey`, the total `amount` since the previous line, this one included
    /// (by default: how many events). The line names the caller's module and place, as a
    /// direct `logger.log` would.
    public func log(_ kind: String, level: Logger.Level, _ message: @autoclosure () -> Logger.Message,
                    metadata: Logger.Metadata = [:], amount: Int = 1, countKey: String = "count", to logger: Logger,
                    file: String = #fileID, function: String = #function, line: UInt = #line) {
        guard let total = admit(kind, amount: amount) else { return }
        var metadata = metadata
        metadata[countKey] = "\(total)"
        logger.log(level: level, message(), metadata: metadata, file: file, function: function, line: line)
    }
}
