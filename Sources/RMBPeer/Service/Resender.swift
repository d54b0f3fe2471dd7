import Logging
import Store

/// Re-sends kept requests that have no reply yet (``ResendPolicy``) by queueing their signed
/// bytes in the outbox again, so they go out through the postman like any envelope (relay
/// choice, confirmation, retries). Every step is one store commit for a whole batch.
struct Resender: Sendable {
    let store: Store
    let wakePostman: @Sendable () -> Void
    let metrics: PeerMetrics
    let logger: Logger
    var policy = ResendPolicy()
    var batchSize = 256
    var interval: Duration = .seconds(1)

    func run() async {
        await resendAfterRestart(startedAt: .now)
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            do {
                let now = StoreTime.now
                let due = try store.awaiting.due(now: now, limit: batchSize)
                if !due.isEmpty {
                    let count = try await resend(due, now: now)
                    logger.info("re-sending requests without a reply", metadata: ["count": "\(count)"])
                }
            } catch {
                logger.warning("could not re-send unanswered requests", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Every request kept by a previous run: its reply may have reached the socket while this
    /// peer was down, and the relay does not keep it.
    func resendAfterRestart(startedAt: StoreTime) async {
        var last: AwaitingKey?
        var total = 0
        do {
            while !Task.isCancelled {
                let page = try store.awaiting.entries(after: last, limit: batchSize)
                guard let tail = page.last else { break }
                last = tail.key
                // Requests confirmed since the start are this run's own; expired ones await the sweep.
                let now = StoreTime.now
                total += try await resend(page.filter { $0.confirmedAt < startedAt && $0.deadline > now }, now: now)
            }
        } catch {
            logger.error("could not re-send the requests of the previous run", metadata: ["error": "\(error)"])
        }
        if total > 0 { logger.info("re-sent requests left unanswered by the previous run", metadata: ["count": "\(total)"]) }
    }

    /// Queues `records` again; returns how many were still kept.
    private func resend(_ records: [AwaitingRequest], now: StoreTime) async throws(StoreError) -> Int {
        guard !records.isEmpty else { return 0 }
        let results = try await store.commit(records.map { record in
            .resendAwaiting(record.key, nextResend: policy.next(after: now, deadline: record.deadline, resends: record.resends &+ 1))
        })
        let queued = results.reduce(0) { count, result in
            if case .resent(seq: _?) = result { count + 1 } else { count }
        }
        if queued > 0 {
            metrics.requestsResent.increment(by: queued)
            wakePostman()
        }
        return queued
    }
}
