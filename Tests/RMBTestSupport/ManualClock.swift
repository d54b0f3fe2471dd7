import Foundation
import Synchronization

/// A `Clock` that moves only when a test says so: code that takes a clock (hedge and
/// confirmation deadlines, handshake timeouts, back-off) runs on it in tests, so timing is the
/// test's decision instead of the machine's load.
///
/// ```swift
/// let clock = ManualClock()
/// let sleeper = Task { try await clock.sleep(for: .seconds(5)) }
/// await clock.waitForSleepers(1)
/// clock.advance(by: .seconds(5))   // sleeper wakes
/// ```
public final class ManualClock: Clock, Sendable {
    public struct Instant: InstantProtocol, Sendable {
        /// Time since the clock was made.
        public var offset: Duration
        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        let deadline: Instant
        let continuation: CheckedContinuation<Void, any Error>
    }

    /// A thread blocked in ``wait(on:untilElapsed:)`` (the store's writer).
    private struct ThreadWaiter {
        let deadline: Duration
        let condition: NSCondition
    }

    private struct State {
        var now = Instant(offset: .zero)
        var nextID: UInt64 = 0
        var sleepers: [UInt64: Sleeper] = [:]
        var threadWaiters: [UInt64: ThreadWaiter] = [:]
        /// Sleepers that were cancelled before they were registered.
        var cancelled: Set<UInt64> = []
    }

    private let state = Mutex(State())

    public init() {}

    public var now: Instant { state.withLock { $0.now } }
    public var minimumResolution: Duration { .zero }

    /// Tasks sleeping on this clock now, and threads waiting on it (``WriterClock``).
    public var sleeperCount: Int { state.withLock { $0.sleepers.count + $0.threadWaiters.count } }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let id = state.withLock { state -> UInt64 in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome = state.withLock { state -> Result<Void, any Error>? in
                    if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                guard let sleeper = state.sleepers.removeValue(forKey: id) else {
                    state.cancelled.insert(id)
                    return nil
                }
                return sleeper
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward and wakes every sleeper whose deadline has come (earliest first), and
    /// signals the conditions of threads waiting for such a deadline.
    public func advance(by duration: Duration) {
        let (due, dueThreads) = state.withLock { state -> ([Sleeper], [ThreadWaiter]) in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { state.sleepers[id] = nil }
            let dueThreads = state.threadWaiters.filter { $0.value.deadline <= now.offset }
            for id in dueThreads.keys { state.threadWaiters[id] = nil }
            return (due.values.sorted { $0.deadline < $1.deadline }, Array(dueThreads.values))
        }
        for sleeper in due { sleeper.continuation.resume() }
        for waiter in dueThreads {
            // Taking the lock first: the waiter holds it until it is inside `wait()`, so the
            // signal cannot fall between its check and its sleep.
            waiter.condition.lock()
            waiter.condition.broadcast()
            waiter.condition.unlock()
        }
    }

    /// Registers a thread about to wait on `condition` (held locked) until `deadline`; nil when
    /// the deadline has already come (the thread must not wait).
    func registerThreadWaiter(deadline: Duration, condition: NSCondition) -> UInt64? {
        state.withLock { state in
            guard deadline > state.now.offset else { return nil }
            defer { state.nextID += 1 }
            state.threadWaiters[state.nextID] = ThreadWaiter(deadline: deadline, condition: condition)
            return state.nextID
        }
    }

    /// Forgets a thread waiter woken by something else than this clock.
    func removeThreadWaiter(_ id: UInt64) {
        _ = state.withLock { $0.threadWaiters.removeValue(forKey: id) }
    }

    /// Waits (real time, bounded by `timeout`) until a task sleeps until exactly `deadline`: tells
    /// one timer from another when several are pending (a look-up's pause from a longer
    /// time-out). Returns false at the bound.
    @discardableResult
    public func waitForSleeper(wakingAt deadline: Instant, timeout: Duration = .seconds(10)) async -> Bool {
        await poll(timeout: timeout) { state.withLock { $0.sleepers.values.contains { $0.deadline == deadline } } }
    }

    /// Waits (real time, bounded by `timeout`) until at least `count` tasks sleep on this clock:
    /// the code under test reached its timers. Returns false at the bound.
    @discardableResult
    public func waitForSleepers(_ count: Int, timeout: Duration = .seconds(10)) async -> Bool {
        await poll(timeout: timeout) { sleeperCount >= count }
    }

    /// Checks `condition` every 2 ms of real time until it holds (true) or `timeout` passed (false).
    private func poll(timeout: Duration, _ condition: () -> Bool) async -> Bool {
        let bound = ContinuousClock.now + timeout
        while !condition() {
            if ContinuousClock.now >= bound { return false }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return true
    }
}
