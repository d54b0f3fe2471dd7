import Foundation

/// The time the store's writer thread decides by: when a deferrable write must go out alone and
/// how long to linger after a commit for its callers' next writes.
///
/// Not a Swift `Clock`: the writer is a dedicated OS thread (LMDB's write transactions must stay
/// on one thread) that blocks on a condition instead of awaiting. Production uses
/// ``SystemWriterClock``; tests give a manual clock whose `advance` signals the condition, so
/// deferral and linger windows are driven to the tick instead of measured on a loaded machine.
public protocol WriterClock: Sendable {
    /// Time elapsed since a fixed origin of this clock (monotonic).
    func elapsed() -> Duration

    /// Blocks the calling thread, which holds `condition` locked, until the condition is
    /// signalled or `elapsed()` reaches `deadline` (spurious returns allowed: the caller
    /// re-checks). Returns at once when the deadline has passed.
    func wait(on condition: NSCondition, untilElapsed deadline: Duration)
}

/// The monotonic system clock (`ContinuousClock`) for the store's writer.
public struct SystemWriterClock: WriterClock {
    private let origin = ContinuousClock.now

    public init() {}

    public func elapsed() -> Duration { origin.duration(to: .now) }

    public func wait(on condition: NSCondition, untilElapsed deadline: Duration) {
        let (seconds, attoseconds) = (deadline - elapsed()).components
        let remaining = Double(seconds) + Double(attoseconds) / 1e18
        guard remaining > 0 else { return }
        _ = condition.wait(until: Date(timeIntervalSinceNow: remaining))
    }
}
