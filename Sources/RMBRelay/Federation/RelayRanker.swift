import ProcessLifecycle

/// Orders a twin's relay domains for federation (relay.md §8): failures within the period are
/// counted per domain, the rate is failures per hour, lower first. Ties keep a random order that
/// is drawn once per call (a shuffle, then a stable sort), so the comparison is consistent.
///
/// Time is the relay's ``Stopwatch``: a failure is remembered as the time since it started.
final class RelayRanker: Sendable {
    private let period: Duration
    private let failures = Locked<[String: [Duration]]>([:])
    private let stopwatch: Stopwatch

    init(period: Duration, stopwatch: Stopwatch = Stopwatch(ContinuousClock())) {
        self.period = period > .zero ? period : .seconds(3600)
        self.stopwatch = stopwatch
    }

    func downvote(_ domain: String) {
        let now = stopwatch.elapsed()
        let horizon = now - period
        failures.withLock { table in
            var list = table[domain, default: []].filter { $0 > horizon }
            list.append(now)
            table[domain] = list
        }
    }

    /// Failures per hour within the last period.
    func rate(_ domain: String) -> Double {
        rate(domain, now: stopwatch.elapsed())
    }

    private func rate(_ domain: String, now: Duration) -> Double {
        let horizon = now - period
        let count = failures.withLock { table in table[domain]?.filter { $0 > horizon }.count ?? 0 }
        let hours = Double(period.components.seconds) / 3600
        return Double(count) / max(hours, 1.0 / 3600)
    }

    func rank(_ domains: [String]) -> [String] {
        let now = stopwatch.elapsed()
        let rated = domains.shuffled().map { ($0, rate($0, now: now)) }
        return rated.enumerated().sorted { lhs, rhs in
            lhs.element.1 != rhs.element.1 ? lhs.element.1 < rhs.element.1 : lhs.offset < rhs.offset
        }.map { $0.element.0 }
    }
}
