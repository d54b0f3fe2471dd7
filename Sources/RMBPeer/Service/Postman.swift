import Logging
import Redundancy
import Store

/// Moves outbox entries to the relays: each batch goes to the best relay that confirms it
/// (envelope ping → pong), and is retried through the next relay with back-off until it is
/// confirmed or its deadline passes. Entries leave the outbox only when confirmed or expired;
/// a confirmed request is kept until its reply arrives, for a re-send (``Resender``).
struct Postman: Sendable {
    let store: Store
    let relays: RelayPool
    let doorbell: Doorbell
    let undeliverable: UndeliverableReporter
    let metrics: PeerMetrics
    let logger: Logger
    var batchSize = 256
    var resendPolicy = ResendPolicy()

    func run() async {
        while !Task.isCancelled {
            let sent: Int
            do {
                sent = try await sendDue()
            } catch {
                logger.error("outbox unavailable", metadata: ["error": "\(error)"])
                sent = 0
            }
            if sent > 0 { continue }
            // Nothing due: sleep until the next retry is due or new work arrives.
            let next = (try? store.outbox.nextDueTime()).flatMap { $0 }
            let delayMillis = next.map { $0.millis > StoreTime.now.millis ? min($0.millis - StoreTime.now.millis, 500) : 0 } ?? 500
            if delayMillis == 0 { continue }
            await doorbell.wait(upTo: .milliseconds(delayMillis))
        }
    }

    /// Sends one batch of due entries; returns how many were handled.
    private func sendDue() async throws -> Int {
        let now = StoreTime.now
        let due = try store.outbox.due(now: now, limit: batchSize)
        guard !due.isEmpty else { return 0 }
        let expired = due.filter { $0.deadline <= now }
        let live = due.filter { $0.deadline > now }
        if !expired.isEmpty {
            logger.warning("dropping expired outgoing envelopes", metadata: ["count": "\(expired.count)"])
            _ = try await store.outbox.remove(seqs: expired.map(\.seq))
            metrics.envelopesExpired.increment(by: expired.count)
            await undeliverable.reportExpired(expired)
        }
        guard !live.isEmpty else { return expired.count }
        do {
            let relay = try await relays.send(live.map(\.payload))
            let confirmedAt = StoreTime.now
            _ = try await store.commit(live.map { entry in
                .confirmOutbox(seq: entry.seq, resendAt: entry.kind == .request
                    ? resendPolicy.next(after: confirmedAt, deadline: entry.deadline, resends: 0) : nil)
            })
            metrics.envelopesSent.increment(by: live.count)
            logger.debug("batch confirmed", metadata: ["relay": "\(relay)", "count": "\(live.count)"])
        } catch {
            let attempts = live.map(\.attempts).max() ?? 0
            let delay = Int64(min(200 << min(Int(attempts), 5), 5_000))
            metrics.batchesUnconfirmed.increment()
            logger.warning("batch not confirmed; will retry", metadata: ["count": "\(live.count)", "error": "\(error)", "retry_ms": "\(delay)"])
            _ = try await store.commit(live.map { .markAttempt(seq: $0.seq, relay: nil, nextAttempt: now.adding(milliseconds: delay)) })
        }
        return live.count
    }
}
