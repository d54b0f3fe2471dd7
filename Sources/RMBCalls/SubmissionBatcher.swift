import Synchronization

/// Sends the submissions of concurrent calls together: while one batch is on its way, the items
/// of other calls gather, and the next send takes them all. A lone call still costs one send;
/// many calls at once cost one per batch instead of one each. No timer: nothing waits for
/// company, a batch is whatever arrived during the previous send. ``RMBClient`` sends a batch as
/// one LPUSH; a direct peer as one store commit.
///
/// A send may come in two steps (``Sent/settling(_:)``): it returns once its batch's place is
/// fixed (a direct peer's commit is queued and its envelopes are on their way), and its outcome
/// (the commit is durable) comes later. The next batch is sent as soon as the previous one's
/// place is fixed, not once its outcome is known: a call arriving during an fsync is signed and
/// sent at once, instead of after that fsync. Up to `unsettledLimit` batches await their
/// outcome at once; then the next send waits for the oldest.
///
/// A call that learns of a failed send another way (its ``ReplyWaiters`` slot is settled by the
/// send) hands its items over with ``enqueue(_:)`` and goes straight to waiting for its reply:
/// one suspension per call instead of two.
package final class SubmissionBatcher<Item: Sendable>: Sendable {
    /// What a send did with its batch.
    package enum Sent: Sendable {
        /// The outcome is known.
        case settled(Result<Void, RMBCallError>)
        /// The batch's place is fixed; the closure waits for the outcome (it is called once).
        case settling(@Sendable () async -> Result<Void, RMBCallError>)
    }

    /// How long ``submit(_:until:)`` waits.
    package enum Stage: Sendable {
        /// Until the batch's place is fixed (it is then `.success`; failures are the send's to report).
        case placed
        /// Until the batch's outcome is known.
        case settled
    }

    package typealias Send = @Sendable ([Item]) async -> Sent

    private struct Waiting: Sendable {
        var items: [Item]
        /// Nil for items enqueued without waiting.
        var continuation: CheckedContinuation<Result<Void, RMBCallError>, Never>?
        var until: Stage
    }

    private struct State {
        var waiting: [Waiting] = []
        var sending = false
    }

    private let state = Mutex(State())
    private let send: Send
    /// Most items in one send (a submission is never split).
    private let limit: Int
    /// Batches sent whose outcome is awaited.
    private let unsettled: AsyncSemaphore

    /// A batcher whose sends may settle later (see the type's comment).
    package init(limit: Int = 1024, unsettledLimit: Int = 64, send: @escaping Send) {
        self.limit = limit
        self.unsettled = AsyncSemaphore(max(1, unsettledLimit))
        self.send = send
    }

    /// A batcher whose sends know their outcome when they return.
    package convenience init(limit: Int = 1024, sendSettled: @escaping @Sendable ([Item]) async -> Result<Void, RMBCallError>) {
        self.init(limit: limit, unsettledLimit: 1) { items in .settled(await sendSettled(items)) }
    }

    /// Items waiting for the next send.
    package var queuedCount: Int { state.withLock { $0.waiting.reduce(0) { $0 + $1.items.count } } }

    /// Sends `items` (in order, with whatever else is waiting); returns at `until`: the outcome
    /// of their batch, or success once its place is fixed.
    package func submit(_ items: [Item], until: Stage = .settled) async -> Result<Void, RMBCallError> {
        await withCheckedContinuation { continuation in add(Waiting(items: items, continuation: continuation, until: until)) }
    }

    /// Queues `items` for the next send and returns at once; the send itself must tell whoever
    /// needs to know if it fails.
    package func enqueue(_ items: [Item]) {
        add(Waiting(items: items, continuation: nil, until: .settled))
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

    /// Sends batches until nothing waits; then waits for the outcomes still coming (a later
    /// drain may be sending meanwhile: this one sends nothing more).
    private func drain() async {
        await withDiscardingTaskGroup { group in
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
                await unsettled.acquire()
                switch await send(batch.flatMap(\.items)) {
                case .settled(let result):
                    unsettled.release()
                    for waiting in batch { waiting.continuation?.resume(returning: result) }
                case .settling(let outcome):
                    for waiting in batch where waiting.until == .placed { waiting.continuation?.resume(returning: .success(())) }
                    let unsettled = self.unsettled
                    group.addTask {
                        let result = await outcome()
                        unsettled.release()
                        for waiting in batch where waiting.until == .settled { waiting.continuation?.resume(returning: result) }
                    }
                }
            }
        }
    }
}
