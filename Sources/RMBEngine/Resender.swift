import Logging
import Store

/// Re-sends kept requests that have no reply yet (``ResendPolicy``) by queueing their signed
/// bytes in the outbox again, so they go out through the postman like any envelope (relay
/// choice, confirmation, retries). Every step is one store commit for a whole batch.
///
/// When a relay connection goes down, what that relay confirmed shortly before may never have
/// left it (a confirmation is not delivery; a request or its reply can die with the relay), so
/// requests confirmed in the last `strandWindow` and still unanswered are re-sent at once
/// rather than at half their ttl. Receivers drop the copies that did arrive.
struct Resender: Sendable {
    let store: Store
    let wakePostman: @Sendable () -> Void
    /// Relay connections lost so far, all relays together.
    let connectionsLost: @Sendable () async -> UInt64
    let metrics: PeerMetrics
    let logger: Logger
    var policy = ResendPolicy()
    var batchSize = 256
    var interval: Duration = .seconds(1)
    /// Paces the passes; the store's ``Store/now`` says what is due.
    var clock: any Clock<Duration> = ContinuousClock()
    /// Milliseconds before a lost relay connection in which a confirmation is suspect.
    var strandWindow: Int64 = 10_000

    func run() async {
        await resendAfterRestart(startedAt: store.now())
        var lost = await connectionsLost()
        while !Task.isCancelled {
            try? await clock.sleep(for: interval, tolerance: nil)
            let nowLost = await connectionsLost()
            if nowLost != lost {
                lost = nowLost
                await resendAfterRelayLoss()
            }
            do {
                let now = store.now()
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
        // Requests confirmed since the start are this run's own.
        let total = await resendKept(because: "a restart") { $0.confirmedAt < startedAt }
        if total > 0 { logger.info("re-sent requests left unanswered by the previous run", metadata: ["count": "\(total)"]) }
    }

    /// Requests confirmed in the last `strandWindow` and still unanswered, after a relay loss.
    func resendAfterRelayLoss() async {
        let since = store.now().adding(milliseconds: -strandWindow)
        let total = await resendKept(because: "a lost relay connection") { $0.confirmedAt >= since }
        if total > 0 { logger.info("re-sent unanswered requests confirmed shortly before a relay connection was lost", metadata: ["count": "\(total)"]) }
    }

    /// Re-sends every kept, unexpired request that `selected` picks (expired ones await the sweep).
    private func resendKept(because reason: String, _ selected: (AwaitingRequest) -> Bool) async -> Int {
        var last: AwaitingKey?
        var total = 0
        do {
            while !Task.isCancelled {
                let page = try store.awaiting.entries(after: last, limit: batchSize)
                guard let tail = page.last else { break }
                last = tail.key
                let now = store.now()
                total += try await resend(page.filter { selected($0) && $0.deadline > now }, now: now)
            }
        } catch {
            logger.error("could not re-send unanswered requests after \(reason)", metadata: ["error": "\(error)"])
        }
        return total
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
            metrics.extraCopies(.unansweredRequest).increment(by: queued)
            wakePostman()
        }
        return queued
    }
}
