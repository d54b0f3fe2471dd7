import CoreMetrics
import Prometheus
import Redundancy
import Store

/// The peer's metrics, in a Prometheus registry owned by this peer (several peers in one
/// process keep their own counts) behind swift-metrics handles. Counters are bumped where
/// the work happens; gauges (relay health, store depths) are read at scrape time, so they are
/// never stale.
public final class PeerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory

    /// Messages taken from local Redis (`msgbus.system.local` / `.reply`) and stored.
    package let localAccepted: CoreMetrics.Counter
    /// Messages from local Redis answered on `ret` with an error (bad JSON, unknown twin …).
    package let localRefused: CoreMetrics.Counter
    /// Envelopes confirmed handed to a relay.
    let envelopesSent: CoreMetrics.Counter
    /// Batches a relay did not confirm (they are retried through the next relay).
    let batchesUnconfirmed: CoreMetrics.Counter
    /// Outgoing envelopes dropped because their ttl ran out before a relay took them.
    let envelopesExpired: CoreMetrics.Counter
    /// Requests re-sent because no reply came (after a restart, or late in their ttl).
    let requestsResent: CoreMetrics.Counter
    /// Stored replies sent again to a requester that repeated its request.
    let repliesResent: CoreMetrics.Counter
    /// Envelopes received from relays (before validation).
    let envelopesReceived: CoreMetrics.Counter
    /// Envelopes refused by validation (bad signature, not for us, replay, …) or undecodable.
    let envelopesRefused: CoreMetrics.Counter
    /// Envelopes already seen (another relay, a re-send) and dropped.
    let duplicatesDropped: CoreMetrics.Counter
    /// Envelopes pushed to local Redis.
    let delivered: CoreMetrics.Counter
    /// Hand-overs put off because the application's queue was full (kept in the store and
    /// handed over later; one envelope may count more than once).
    let queueFull: CoreMetrics.Counter

    /// Why an envelope left this peer more than once (every copy beyond the first is counted
    /// under its reason in `rmb_peer_extra_copies_total`).
    enum ExtraCopy: String {
        /// Written to a relay that did not confirm it (timeout, lost connection), then sent
        /// through the next relay.
        case unconfirmedRelay = "unconfirmed_relay"
        /// A request with no reply late in its ttl, or after a restart (``Resender``).
        case unansweredRequest = "unanswered_request"
        /// A stored reply sent again because its request came again.
        case repeatedRequest = "repeated_request"
        /// A batch that no relay confirmed, sent again after its back-off.
        case retry
        /// Sent through the next relay as well because the first one's confirmation was overdue
        /// (hedging: a silent relay delays nothing); the copy that lost the race is the extra.
        case hedge
    }

    private let extraUnconfirmedRelay: CoreMetrics.Counter
    private let extraUnansweredRequest: CoreMetrics.Counter
    private let extraRepeatedRequest: CoreMetrics.Counter
    private let extraRetry: CoreMetrics.Counter
    private let extraHedge: CoreMetrics.Counter

    /// The counter of extra copies sent for `reason`.
    func extraCopies(_ reason: ExtraCopy) -> CoreMetrics.Counter {
        switch reason {
        case .unconfirmedRelay: extraUnconfirmedRelay
        case .unansweredRequest: extraUnansweredRequest
        case .repeatedRequest: extraRepeatedRequest
        case .retry: extraRetry
        case .hedge: extraHedge
        }
    }

    public init() {
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        self.registry = registry
        self.factory = factory
        func counter(_ label: String) -> CoreMetrics.Counter { Counter(label: label, factory: factory) }
        localAccepted = counter("rmb_peer_local_accepted_total")
        localRefused = counter("rmb_peer_local_refused_total")
        envelopesSent = counter("rmb_peer_envelopes_sent_total")
        batchesUnconfirmed = counter("rmb_peer_batches_unconfirmed_total")
        envelopesExpired = counter("rmb_peer_envelopes_expired_total")
        requestsResent = counter("rmb_peer_requests_resent_total")
        repliesResent = counter("rmb_peer_replies_resent_total")
        envelopesReceived = counter("rmb_peer_envelopes_received_total")
        envelopesRefused = counter("rmb_peer_envelopes_refused_total")
        duplicatesDropped = counter("rmb_peer_duplicates_dropped_total")
        delivered = counter("rmb_peer_delivered_total")
        queueFull = counter("rmb_peer_local_queue_full_total")
        func extraCopy(_ reason: ExtraCopy) -> CoreMetrics.Counter {
            Counter(label: "rmb_peer_extra_copies_total", dimensions: [("reason", reason.rawValue)], factory: factory)
        }
        extraUnconfirmedRelay = extraCopy(.unconfirmedRelay)
        extraUnansweredRequest = extraCopy(.unansweredRequest)
        extraRepeatedRequest = extraCopy(.repeatedRequest)
        extraRetry = extraCopy(.retry)
        extraHedge = extraCopy(.hedge)
    }

    /// Prometheus text exposition, with the gauges refreshed from the relays and the store.
    public func exposition(relays: [RelayHealth], store: StoreStats?) -> [UInt8] {
        for health in relays {
            let relay = [("relay", health.relay.canonical)]
            Gauge(label: "rmb_peer_relay_connected", dimensions: relay, factory: factory)
                .record(health.state == .connected ? 1 : 0)
            Gauge(label: "rmb_peer_relay_recent_failures", dimensions: relay, factory: factory).record(health.recentFailures)
            if let rtt = health.lastRoundTrip {
                let seconds = Double(rtt.components.seconds) + Double(rtt.components.attoseconds) / 1e18
                Gauge(label: "rmb_peer_relay_round_trip_seconds", dimensions: relay, factory: factory).record(seconds)
            }
        }
        if let store {
            func gauge(_ label: String, _ value: Int) { Gauge(label: label, factory: factory).record(value) }
            gauge("rmb_peer_store_outbox", store.outbox.entries)
            gauge("rmb_peer_store_backlog", store.backlog.entries)
            gauge("rmb_peer_store_inbox_keys", store.inbox.entries)
            gauge("rmb_peer_store_inbox_pending", store.inboxPending)
            gauge("rmb_peer_store_awaiting_reply", store.awaiting.entries)
            gauge("rmb_peer_store_map_used_bytes", store.mapUsedBytes)
            // Since start: transactions, the operations they carried, and the commits flushed on
            // their own because the writer went idle (each commit's own flush is implied), and the
            // writer thread's wake-ups.
            gauge("rmb_peer_store_commits", store.commits)
            gauge("rmb_peer_store_operations", store.operations)
            gauge("rmb_peer_store_idle_flushes", store.idleFlushes)
            gauge("rmb_peer_store_writer_wakeups", store.writerWakeups)
        }
        return registry.emitToBuffer()
    }
}
