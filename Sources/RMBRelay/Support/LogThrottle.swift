import Logging
import ProcessLifecycle
import Synchronization

/// Logs repeated events of one kind at most once per interval, with how many were left out
/// since the last line: a client that sends garbage or opens sockets in a loop cannot flood the
/// log. Kinds are a fixed set of strings chosen by the code (never client input), so the table
/// stays small.
final class LogThrottle: Sendable {
    private struct Entry { var lastLogged: Duration; var suppressed: Int }
    private let interval: Duration
    private let stopwatch: Stopwatch
    private let entries = Mutex<[String: Entry]>([:])

    init(interval: Duration = .seconds(10), stopwatch: Stopwatch = Stopwatch(ContinuousClock())) {
        self.interval = interval
        self.stopwatch = stopwatch
    }

    /// How many events of `kind` to report if this one is logged; nil when it is left out.
    func admit(_ kind: String) -> Int? {
        let instant = stopwatch.elapsed()
        return entries.withLock { entries -> Int? in
            if var entry = entries[kind] {
                guard instant - entry.lastLogged >= interval else {
                    entry.suppressed += 1
                    entries[kind] = entry
                    return nil
                }
                entries[kind] = Entry(lastLogged: instant, suppressed: 0)
                return entry.suppressed + 1
            }
            entries[kind] = Entry(lastLogged: instant, suppressed: 0)
            return 1
        }
    }

    /// Logs `message` unless a line of `kind` was logged less than the interval ago; the line
    /// carries `count`: the events since the previous line, this one included.
    func log(_ kind: String, level: Logger.Level, _ message: @autoclosure () -> Logger.Message,
             metadata: Logger.Metadata = [:], to logger: Logger) {
        guard let count = admit(kind) else { return }
        var metadata = metadata
        metadata["count"] = "\(count)"
        logger.log(level: level, message(), metadata: metadata)
    }
}
