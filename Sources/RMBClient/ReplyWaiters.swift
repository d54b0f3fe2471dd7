import RMBProtocol
import Synchronization

/// The calls of one client that wait for their reply, by reference, and whether a reader takes
/// the client's reply queue. One owner (a mutex) for both, so a reader never stops while a call
/// still waits and never runs twice.
package final class ReplyWaiters: Sendable {
    package typealias Outcome = Result<RMBReply, RMBCallError>

    private enum Slot {
        /// Registered; the request may be on its way, the caller is not waiting yet.
        case registered
        case waiting(CheckedContinuation<Outcome, Never>)
        /// Settled before the caller started waiting (a fast reply, a cancellation).
        case settled(Outcome)
    }

    private struct State {
        var slots: [String: Slot] = [:]
        var readerRunning = false
    }

    private let state = Mutex(State())

    package var count: Int { state.withLock { $0.slots.count } }

    /// Registers a call; true when no reader runs, and the caller must start one.
    package func register(_ reference: String) -> Bool {
        state.withLock { state in
            state.slots[reference] = .registered
            if state.readerRunning { return false }
            state.readerRunning = true
            return true
        }
    }

    /// Waits for the registered call's outcome (at once if it is already settled).
    package func wait(_ reference: String) async -> Outcome {
        await withCheckedContinuation { continuation in
            let early: Outcome? = state.withLock { state in
                switch state.slots[reference] {
                case .registered?:
                    state.slots[reference] = .waiting(continuation)
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
            switch state.slots[reference] {
            case .registered?:
                state.slots[reference] = .settled(outcome)
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

    /// Forgets a call whose request never left (the push failed).
    package func remove(_ reference: String) {
        state.withLock { _ = $0.slots.removeValue(forKey: reference) }
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

    package init() {}

    /// Waits for every call's outcome: a reply, the timeout (one timer for all), or
    /// cancellation of the calling task.
    package func collect(_ calls: [(twin: UInt32, reference: String)], timeout: Duration,
                         clock: any Clock<Duration>) async -> [(twin: UInt32, outcome: Outcome)] {
        let timer = Task { [clock] in
            try await clock.sleep(for: timeout)
            for (_, reference) in calls { self.settle(reference, .failure(.timeout(timeout))) }
        }
        defer { timer.cancel() }
        return await withTaskCancellationHandler {
            var results: [(twin: UInt32, outcome: Outcome)] = []
            for (twin, reference) in calls { results.append((twin, await wait(reference))) }
            return results
        } onCancel: {
            for (_, reference) in calls { self.settle(reference, .failure(.cancelled)) }
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
