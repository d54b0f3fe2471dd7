import Synchronization

/// Counts free handler slots; a waiter is resumed when one frees. Bounds the requests a server
/// holds at once.
package final class AsyncSemaphore: Sendable {
    private struct State {
        package var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    package init(_ count: Int) { state = Mutex(State(available: count)) }

    package var available: Int { state.withLock { $0.available } }

    /// Takes a slot, waiting for one to free.
    package func acquire() async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state in
                if state.available > 0 { state.available -= 1; return true }
                state.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Waits until at least one slot is free, without taking it.
    package func waitForAny() async {
        if available > 0 { return }
        await acquire()
        release()
    }

    package func release() {
        let next: CheckedContinuation<Void, Never>? = state.withLock { state in
            if state.waiters.isEmpty { state.available += 1; return nil }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
