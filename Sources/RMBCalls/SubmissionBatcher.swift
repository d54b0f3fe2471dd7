import Synchronization

/// Sends the submissions of concurrent calls together: while one batch is on its way, the items
/// of other calls gather, and the next send takes them all. A lone call still costs one send;
/// many calls at once cost one per batch instead of one each. No timer: nothing waits for
/// company, a batch is whatever arrived during the previous send. ``RMBClient`` sends a batch as
/// one LPUSH; a direct peer as one store commit.
///
/// A call that learns of a failed send another way (its ``ReplyWaiters`` slot is settled by the
/// send) hands its items over with ``enqueue(_:)`` and goes straight to waiting for its reply:
/// one suspension per call instead of two.
package final class SubmissionBatcher<Item: Sendable>: Sendable {
    package typealias Send = @Sendable ([Item]) async -> Result<Void, RMBCallError>

    private struct Waiting {
        var items: [Item]
        /// Nil for items enqueued without waiting.
        var continuation: CheckedContinuation<Result<Void, RMBCallError>, Never>?
    }

    private struct State {
        var waiting: [Waiting] = []
        var sending = false
    }

    private let state = Mutex(State())
    private let send: Send
    /// Most items in one send (a submission is never split).
    private let limit: Int

    package init(limit: Int = 1024, send: @escaping Send) {
        self.limit = limit
        self.send = send
    }

    /// Items waiting for the next send.
    package var queuedCount: Int { state.withLock { $0.waiting.reduce(0) { $0 + $1.items.count } } }

    /// Sends `items` (in order, with whatever else is waiting); the outcome of their batch.
    package func submit(_ items: [Item]) async -> Result<Void, RMBCallError> {
        await withCheckedContinuation { continuation in add(Waiting(items: items, continuation: continuation)) }
    }

    /// Queues `items` for the next send and returns at once; the send itself must tell whoever
    /// needs to know if it fails.
    package func enqueue(_ items: [Item]) {
        add(Waiting(items: items, continuation: nil))
    }

    /// Queues a submission; starts the sender unless one runs.
    private func add(_ waiting: Waiting) {
        let sendNow = state.withLock { state in
            state.waiting.append(waiting)
            if state.sending { return false }
            state.sending = true
            return true
        }
        if sendNow { Task { await self.drain() } }
    }

    /// Sends batches until nothing waits.
    private func drain() async {
        while true {
            let batch: [Waiting] = state.withLock { state in
                var count = 0
                var taken = 0
                for waiting in state.waiting {
                    if taken > 0 && count + waiting.items.count > limit { break }
                    count += waiting.items.count
                    taken += 1
                }
                let batch = Array(state.waiting.prefix(taken))
                state.waiting.removeFirst(taken)
                if batch.isEmpty { state.sending = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            let result = await send(batch.flatMap(\.items))
            for waiting in batch { waiting.continuation?.resume(returning: result) }
        }
    }
}
