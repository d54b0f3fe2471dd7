import Logging
import ProcessLifecycle
import Redundancy
import Store
import Synchronization

/// Moves outbox entries to the relays: each batch goes to the best relay that confirms it
/// (envelope ping → pong), and is retried through the next relay with back-off until it is
/// confirmed or its deadline passes. Entries leave the outbox only when confirmed or expired;
/// a confirmed request is kept until its reply arrives, for a re-send (``Resender``).
///
/// Up to `batchesInFlight` batches wait for their pongs at once: the next batch is written as
/// soon as the previous one is on the socket (so the order on the wire is the outbox's order),
/// instead of after its confirmation came back.
///
/// Entries the pipeline hands over as their write is queued or applied
/// (``Progress/handOff(_:claimed:)``) go out from memory, before their commit is durable or
/// readable; the outbox is read for everything else (retries,
/// re-sends, plugin answers, what a restart found), at least every other round while entries
/// keep being handed over, so a steady stream of new work never holds a retry back. What waits in
/// memory is bounded (``Progress/handOffLimit``); past it, entries wait in the outbox only.
///
/// A confirmation is recorded with a deferrable commit that the postman does not wait for: it
/// rides along with the next transaction (usually the reply's), so a batch costs no fsync of
/// its own. Until it is stored, the batch's entries are kept out of later rounds in memory; a
/// crash before that re-sends them after the restart, and receivers drop the copies.
struct Postman: Sendable {
    let store: Store
    let relays: RelayPool
    let doorbell: Doorbell
    let undeliverable: UndeliverableReporter
    let metrics: PeerMetrics
    let logger: Logger
    /// Its warnings repeat per batch (a backlog retried while no relay is up): a line per kind
    /// and interval, with the count.
    var logThrottle = LogThrottle()
    /// Shared with whoever must know when everything handed to a relay is settled (a graceful stop).
    var progress = Progress()
    var batchSize = 256
    var batchesInFlight = 8
    var resendPolicy = ResendPolicy()

    /// What the postman handed to relays and has not settled yet.
    final class Progress: Sendable {
        let confirming = Confirming()
        let inFlight = InFlight()
        /// Entries handed over by the pipeline, not yet taken by the postman (also in `confirming`).
        private let handedOver = Mutex(HandedOver())
        /// What the hand-off may hold: past it (the relays are down or slow and work keeps
        /// coming), entries stay in the outbox only, where the postman reads them in turn.
        let handOffLimit: (entries: Int, bytes: Int)
        /// No batch waits for its confirmation, and every confirmation is stored.
        var isSettled: Bool { inFlight.count == 0 && confirming.count == 0 }

        private struct HandedOver {
            var entries: [OutboxEntry] = []
            var bytes = 0
        }

        init(handOffLimit: (entries: Int, bytes: Int) = (4096, 32 << 20)) {
            self.handOffLimit = handOffLimit
        }

        /// Keeps outbox numbers reserved for a write out of the postman's outbox reads before the
        /// write is queued; its entries are handed over right after (``handOff(_:claimed:)``).
        /// Claimed after the queueing, a store that commits at once could let a read send them.
        func claim(_ seqs: [UInt64]) { confirming.insert(seqs) }

        /// Lets a claim go: the write was refused before anything was handed over.
        func releaseClaim(_ seqs: [UInt64]) { confirming.remove(seqs) }

        /// Queues entries whose write is queued (``claim(_:)``ed, `claimed`) or applied, for the
        /// postman's next round (it is to be rung), as far as the limit allows. They are in
        /// `confirming` (joining it here unless claimed): an outbox read that sees them once
        /// committed leaves them alone. Those past the limit stay in the outbox only (a claim
        /// is let go), where the postman reads them in turn.
        func handOff(_ entries: [OutboxEntry], claimed: Bool = false) {
            guard !entries.isEmpty else { return }
            handedOver.withLock { queue in
                var accepted = 0
                for entry in entries {
                    guard queue.entries.count < handOffLimit.entries,
                          queue.bytes + entry.payload.count <= handOffLimit.bytes else { break }
                    queue.entries.append(entry)
                    queue.bytes += entry.payload.count
                    accepted += 1
                }
                // Settled before the lock is let go: the postman cannot take them sooner.
                if claimed {
                    confirming.remove(entries.dropFirst(accepted).map(\.seq))
                } else {
                    confirming.insert(entries.prefix(accepted).map(\.seq))
                }
            }
        }

        /// Handed-over entries not taken yet (tests).
        var handedOverCount: Int { handedOver.withLock { $0.entries.count } }

        /// Up to `limit` handed-over entries, oldest first.
        func takeHandedOver(limit: Int) -> [OutboxEntry] {
            handedOver.withLock { queue in
                let taken = Array(queue.entries.prefix(limit))
                queue.entries.removeFirst(taken.count)
                queue.bytes -= taken.reduce(0) { $0 + $1.payload.count }
                return taken
            }
        }
    }

    /// Outbox entries handed to a relay and not settled yet: waiting for their pong, or confirmed
    /// with the confirmation not stored yet. Later rounds leave them alone.
    final class Confirming: Sendable {
        private let seqs = Mutex(Set<UInt64>())
        var count: Int { seqs.withLock { $0.count } }
        func snapshot() -> Set<UInt64> { seqs.withLock { $0 } }
        func insert(_ batch: [UInt64]) { seqs.withLock { $0.formUnion(batch) } }
        func remove(_ batch: [UInt64]) { seqs.withLock { $0.subtract(batch) } }
    }

    /// Batches handed to a relay and not settled yet.
    final class InFlight: Sendable {
        private let batches = Atomic<Int>(0)
        var count: Int { batches.load(ordering: .relaxed) }
        func started() { batches.wrappingAdd(1, ordering: .relaxed) }
        func settled() { batches.wrappingSubtract(1, ordering: .relaxed) }
    }

    private enum Round {
        case sent
        /// Sent a batch handed over at apply time (the outbox comes first next round).
        case sentHandedOver
        /// Everything due is in flight or waiting for its confirmation to be stored.
        case confirming
        case idle
    }

    func run() async {
        let confirming = progress.confirming
        let inFlight = progress.inFlight
        await withDiscardingTaskGroup { group in
            var round = Round.idle
            while !Task.isCancelled {
                if inFlight.count >= batchesInFlight {
                    // A settled batch rings.
                    await doorbell.wait(upTo: .milliseconds(100))
                    continue
                }
                do {
                    round = try await sendDue(readOutboxFirst: round == .sentHandedOver, confirming: confirming,
                                              inFlight: inFlight, group: &group)
                } catch {
                    logger.error("outbox unavailable", metadata: ["error": "\(error)"])
                    round = .idle
                }
                await pause(after: round)
            }
        }
    }

    private func pause(after round: Round) async {
        switch round {
        case .sent, .sentHandedOver:
            return
        case .confirming:
            // The stored confirmation (or new work) rings.
            await doorbell.wait(upTo: .milliseconds(100))
        case .idle:
            // Nothing due: sleep until the next retry is due or new work arrives.
            let next = (try? store.outbox.nextDueTime()).flatMap { $0 }
            let now = store.now()
            let delayMillis = next.map { $0.millis > now.millis ? min($0.millis - now.millis, 500) : 0 } ?? 500
            if delayMillis == 0 {
                // Due again at once; never without letting other tasks run (two peers in one
                // process must not starve each other on a two-thread pool).
                await Task.yield()
                return
            }
            await doorbell.wait(upTo: .milliseconds(delayMillis))
        }
    }

    /// Starts sending one batch: of the entries handed over at apply time, or of the outbox's due
    /// entries (first when `readOutboxFirst`, else only when nothing was handed over); returns
    /// once it is written (or settled).
    private func sendDue(readOutboxFirst: Bool, confirming: Confirming, inFlight: InFlight,
                         group: inout DiscardingTaskGroup) async throws -> Round {
        func sendHandedOver() async -> Bool {
            let handedOver = progress.takeHandedOver(limit: batchSize)
            guard !handedOver.isEmpty else { return false }
            await start(handedOver, confirming: confirming, inFlight: inFlight, group: &group)
            return true
        }
        if !readOutboxFirst, await sendHandedOver() { return .sentHandedOver }
        let now = store.now()
        // Taken before the read, not after: a batch whose confirmation commits while the read
        // runs leaves `confirming` then, yet the read's snapshot may predate that commit and
        // still list its entries as due; filtering with the later set sent them again.
        let settling = confirming.snapshot()
        let (live, skipped) = try store.outbox.due(now: now, limit: batchSize, skipping: settling)
        guard !live.isEmpty else {
            if !skipped {
                // Entries that expired while waiting (`due` skips them) are dropped and reported
                // now: left for the sweep, their due time would keep an idle postman from sleeping.
                let expired = try store.outbox.expiredDue(now: now, limit: batchSize)
                if !expired.isEmpty {
                    logThrottle.log(LogThrottle.expiredOutgoing, level: .warning, "dropping expired outgoing envelopes",
                                    amount: expired.count, to: logger)
                    _ = try await store.outbox.remove(seqs: expired.map(\.seq))
                    metrics.envelopesExpired.increment(by: expired.count)
                    await undeliverable.reportExpired(expired)
                    return .sent
                }
            }
            if readOutboxFirst, await sendHandedOver() { return .sentHandedOver }
            return skipped ? .confirming : .idle
        }
        confirming.insert(live.map(\.seq))
        await start(live, confirming: confirming, inFlight: inFlight, group: &group)
        return .sent
    }

    /// Hands `live` (already in `confirming`) to a relay in a task of its own; returns once it is
    /// written (or settled).
    private func start(_ live: [OutboxEntry], confirming: Confirming, inFlight: InFlight, group: inout DiscardingTaskGroup) async {
        inFlight.started()
        let (written, writtenSignal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        group.addTask {
            await deliver(live, confirming: confirming, written: { writtenSignal.yield() })
            writtenSignal.finish()
            inFlight.settled()
            doorbell.ring()
        }
        for await _ in written { break }
    }

    /// Sends `live` through the best relay that confirms it, or schedules its retry.
    private func deliver(_ live: [OutboxEntry], confirming: Confirming, written: @escaping @Sendable () -> Void) async {
        let now = store.now()
        do {
            let delivery = try await relays.send(live.map(\.payload), written: written)
            recordConfirmation(live, confirming: confirming)
            metrics.envelopesSent.increment(by: live.count)
            if delivery.unconfirmedCopies > 0 {
                metrics.extraCopies(.unconfirmedRelay).increment(by: live.count * delivery.unconfirmedCopies)
                logger.info("batch confirmed by another relay after a lost confirmation; receivers drop the copies",
                            metadata: ["relay": "\(delivery.relay)", "count": "\(live.count)", "copies": "\(delivery.unconfirmedCopies)"])
            }
            if delivery.hedgedCopies > 0 {
                metrics.extraCopies(.hedge).increment(by: live.count * delivery.hedgedCopies)
            }
            logger.debug("batch confirmed", metadata: ["relay": "\(delivery.relay)", "count": "\(live.count)"])
        } catch {
            let attempts = live.map(\.attempts).max() ?? 0
            let delay = Int64(min(200 << min(Int(attempts), 5), 5_000))
            metrics.batchesUnconfirmed.increment()
            if case .noRelayAvailable(_, let copies) = error, copies > 0 {
                // The retry sends these again; they already went out unconfirmed.
                metrics.extraCopies(.retry).increment(by: live.count * copies)
            }
            logThrottle.log("batch-not-confirmed", level: .warning, "batch not confirmed; will retry",
                            metadata: ["batch_entries": "\(live.count)", "error": "\(error)", "retry_ms": "\(delay)"],
                            countKey: "batches", to: logger)
            do {
                _ = try await store.commit(live.map { .markAttempt(seq: $0.seq, relay: nil, nextAttempt: now.adding(milliseconds: delay)) })
            } catch {
                logger.error("could not schedule a retry; the batch is due again at once", metadata: ["count": "\(live.count)", "error": "\(error)"])
            }
            confirming.remove(live.map(\.seq))
        }
    }

    /// Queues the confirmation of a batch (a request is kept for a re-send) before anything else
    /// can be stored about it (its reply); once stored, its entries may be looked at again (they
    /// are gone from the outbox, or due again if this failed).
    private func recordConfirmation(_ live: [OutboxEntry], confirming: Confirming) {
        let confirmedAt = store.now()
        let seqs = live.map(\.seq)
        let operations: [StoreOperation] = live.map { entry in
            .confirmOutbox(seq: entry.seq, resendAt: entry.kind == .request
                ? resendPolicy.next(after: confirmedAt, deadline: entry.deadline, resends: 0) : nil)
        }
        store.commitInBackground(operations) { [logger, doorbell] result in
            if case .failure(let error) = result {
                logger.error("could not record a confirmed batch; it will be sent again", metadata: ["count": "\(seqs.count)", "error": "\(error)"])
            }
            confirming.remove(seqs)
            doorbell.ring()
        }
    }
}

extension LogThrottle {
    /// Outbox entries dropped at their deadline, by the postman or the sweep: one line per interval.
    static let expiredOutgoing = "expired-outgoing"
}
