import ProcessLifecycle
import RMBProtocol
import Synchronization

/// The calls of one client that wait for their reply, by reference, and whether a reader takes
/// the client's reply queue. One owner (a mutex) for both, so a reader never stops while a call
/// still waits and never runs twice.
///
/// Timeouts cost no task per call: every waiting call has a deadline in its slot, and one timer
/// task per client, running only while calls wait, wakes every ``tick`` (on the client's clock)
/// and times out the calls whose deadline has passed — a call ends at most one tick after its
/// timeout.
package final class ReplyWaiters: Sendable {
    package typealias Outcome = Result<RMBReply, RMBCallError>

    /// How late past its timeout a call may end: the timer's period.
    package static let tick: Duration = .milliseconds(20)

    private enum Phase {
        /// Registered; the request may be on its way, the caller is not waiting yet.
        case registered
        case waiting(CheckedContinuation<Outcome, Never>)
        /// Settled before the caller started waiting (a fast reply, a cancellation).
        case settled(Outcome)
    }

    private struct Slot {
        var phase: Phase
        /// When the call times out (time since `origin`), and the timeout it reports.
        var deadline: Duration = .zero
        var timeout: Duration?
    }

    private struct State {
        var slots: [String: Slot] = [:]
        var readerRunning = false
        var timerRunning = false
    }

    private let state = Mutex(State())
    private let clock: any Clock<Duration>
    /// Deadlines are kept as time elapsed on `clock`, whatever its instant type.
    private let stopwatch: Stopwatch
    /// Makes references unique to this instance: a reply to a call of an earlier run (a direct
    /// peer re-sends its stored requests after a restart) never matches a call of this one.
    private let referencePrefix: String
    private let counter = Atomic<UInt64>(0)

    package init(clock: any Clock<Duration> = ContinuousClock()) {
        self.clock = clock
        stopwatch = Stopwatch(clock)
        referencePrefix = String(UInt64.random(in: .min ... .max), radix: 16) + "-"
    }

    package var count: Int { state.withLock { $0.slots.count } }

    /// Calls whose caller waits now (their deadlines are set).
    package var waitingCount: Int {
        state.withLock { state in state.slots.values.count { if case .waiting = $0.phase { true } else { false } } }
    }

    /// A reference no other call of this instance uses.
    package func makeReference() -> String {
        referencePrefix + String(counter.add(1, ordering: .relaxed).newValue, radix: 16)
    }

    /// Registers a call; true when no reader runs, and the caller must start one.
    package func register(_ reference: String) -> Bool {
        state.withLock { state in
            state.slots[reference] = Slot(phase: .registered)
            if state.readerRunning { return false }
            state.readerRunning = true
            return true
        }
    }

    /// Waits for the registered call's outcome (at once if it is already settled).
    package func wait(_ reference: String) async -> Outcome {
        await withCheckedContinuation { continuation in
            let early: Outcome? = state.withLock { state in
                switch state.slots[reference]?.phase {
                case .registered?:
                    state.slots[reference]?.phase = .waiting(continuation)
                    return nil
                case .settled(let outcome)?:
                    state.slots[reference] = nil
                    return outcome
                case .waiting?, nil:
                    return .failure(.cancelled)
                }
            }
            if let early { continuation.resume(returning: early) }
        }
    }

    /// Settles a call; false when nobody waits for `reference` any more (a late or repeated reply).
    @discardableResult
    package func settle(_ reference: String, _ outcome: Outcome) -> Bool {
        let continuation: CheckedContinuation<Outcome, Never>? = state.withLock { state in
            switch state.slots[reference]?.phase {
            case .registered?:
                state.slots[reference]?.phase = .settled(outcome)
                return nil
            case .waiting(let continuation)?:
                state.slots[reference] = nil
                return continuation
            case .settled?, nil:
                return nil
            }
        }
        guard let continuation else { return false }
        continuation.resume(returning: outcome)
        return true
    }

    /// Called by the reader between takes: true (and the reader is marked stopped) when no call
    /// waits any more.
    package func readerMayStop() -> Bool {
        state.withLock { state in
            guard state.slots.isEmpty else { return false }
            state.readerRunning = false
            return true
        }
    }

    /// Waits for every call's outcome: a reply, the timeout (within one ``tick``), or
    /// cancellation of the calling task.
    package func collect(_ calls: [(twin: UInt32, reference: String)], timeout: Duration) async -> [(twin: UInt32, outcome: Outcome)] {
        let deadline = stopwatch.elapsed() + timeout
        let startTimer = state.withLock { state in
            for (_, reference) in calls where state.slots[reference] != nil {
                state.slots[reference]?.deadline = deadline
                state.slots[reference]?.timeout = timeout
            }
            guard !state.timerRunning else { return false }
            state.timerRunning = true
            return true
        }
        if startTimer { Task { await self.runTimer() } }
        return await withTaskCancellationHandler {
            var results: [(twin: UInt32, outcome: Outcome)] = []
            for (twin, reference) in calls { results.append((twin, await wait(reference))) }
            return results
        } onCancel: {
            for (_, reference) in calls { self.settle(reference, .failure(.cancelled)) }
        }
    }

    /// Times out overdue calls every tick while any call has a deadline; stops when none waits.
    private func runTimer() async {
        while true {
            try? await clock.sleep(for: Self.tick, tolerance: nil)
            let now = stopwatch.elapsed()
            let (overdue, stop): ([(String, Duration)], Bool) = state.withLock { state in
                let overdue = state.slots.compactMap { reference, slot in
                    slot.timeout.flatMap { slot.deadline <= now ? (reference, $0) : nil }
                }
                // Overdue calls still have their slots, so none overdue is implied.
                let stop = !state.slots.values.contains { $0.timeout != nil }
                if stop { state.timerRunning = false }
                return (overdue, stop)
            }
            for (reference, timeout) in overdue { settle(reference, .failure(.timeout(timeout))) }
            if stop { return }
        }
    }

    /// A reply as the Redis JSON API (or a direct peer) hands it over: the payload, or the
    /// remote error with its code and who said so.
    package static func outcome(of response: ClientResponse) -> Outcome {
        if let error = response.error {
            return .failure(.remote(code: error.code, message: error.message, source: response.source))
        }
        return .success(RMBReply(payload: response.data, source: response.source, schema: response.schema, timestamp: response.now))
    }
}
