import TwinDirectory
import CoreMetrics
import Prometheus

/// The relay's metrics (relay.md §10), kept in a registry owned by this relay instance (so
/// several relays in one test process do not share counters) and exposed through swift-metrics
/// handles backed by swift-prometheus.
public final class RelayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory

    let messageRx: CoreMetrics.Counter
    let messageRxBytes: CoreMetrics.Counter
    let messageTx: CoreMetrics.Counter
    let messageTxBytes: CoreMetrics.Counter
    let evictionsClosed: CoreMetrics.Counter
    let evictionsBackPressure: CoreMetrics.Counter
    let evictionsCancelled: CoreMetrics.Counter
    let rateLimited: CoreMetrics.Counter
    let cacheMisses: CoreMetrics.Counter
    let cacheFlushes: CoreMetrics.Counter
    let cacheEntries: CoreMetrics.Gauge
    let openConnections: CoreMetrics.Gauge

    public init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        let factory = PrometheusMetricsFactory(registry: registry)
        self.factory = factory
        messageRx = Counter(label: "relay_message_rx", factory: factory)
        messageRxBytes = Counter(label: "relay_message_rx_bytes", factory: factory)
        messageTx = Counter(label: "relay_message_tx", factory: factory)
        messageTxBytes = Counter(label: "relay_message_tx_bytes", factory: factory)
        evictionsClosed = Counter(label: "relay_session_evictions_total", dimensions: [("reason", "closed")], factory: factory)
        evictionsBackPressure = Counter(label: "relay_session_evictions_total", dimensions: [("reason", "back_pressure_timeout")], factory: factory)
        evictionsCancelled = Counter(label: "relay_session_evictions_total", dimensions: [("reason", "cancelled")], factory: factory)
        rateLimited = Counter(label: "relay_rate_limited_total", factory: factory)
        cacheMisses = Counter(label: "rmb_cache_misses_total", factory: factory)
        cacheFlushes = Counter(label: "rmb_cache_flushes_total", factory: factory)
        cacheEntries = Gauge(label: "rmb_cache_entries", factory: factory)
        openConnections = Gauge(label: "relay_open_connections", factory: factory)
    }

    /// Sessions held by one delivery worker (relay.md §10; see `WorkerSlots`). A worker's
    /// series appears with its first session.
    func workerConnections(_ worker: Int, _ sessions: Int) {
        Gauge(label: "relay_worker_connections", dimensions: [("worker", String(worker))], factory: factory).record(sessions)
    }

    func federationSuccess(_ domain: String) {
        Counter(label: "federation_message_success", dimensions: [("relay", domain)], factory: factory).increment()
    }

    func federationError(_ domain: String) {
        Counter(label: "federation_message_error", dimensions: [("relay", domain)], factory: factory).increment()
    }

    /// An envelope the federation worker stopped retrying because no retry could land before it
    /// expires (its sender got the error at once).
    func federationGaveUp() {
        Counter(label: "relay_federation_gave_up_total", factory: factory).increment()
    }

    /// A connection closed at accept: over `--max-connections` or `--max-connections-per-address`.
    func connectionRefused(_ refusal: ConnectionAdmission.Refusal) {
        Counter(label: "relay_connections_refused_total", dimensions: [("reason", refusal.rawValue)], factory: factory).increment()
    }

    /// A connection closed because a stage took too long (handshake, request, idle, ping).
    func connectionTimedOut(_ stage: ConnectionStage) {
        Counter(label: "relay_connection_timeouts_total", dimensions: [("stage", stage.rawValue)], factory: factory).increment()
    }

    /// A client's malformed input: an undecodable frame, a bad HTTP request.
    func badInput(_ kind: String) {
        Counter(label: "relay_bad_input_total", dimensions: [("kind", kind)], factory: factory).increment()
    }

    func enqueued(bytes: Int) {
        messageRx.increment()
        messageRxBytes.increment(by: bytes)
    }

    func sent(bytes: Int) {
        messageTx.increment()
        messageTxBytes.increment(by: bytes)
    }

    /// Prometheus text exposition, with the `process_*` figures read now.
    public func exposition() -> [UInt8] { registry.emitToBuffer() + Array(ProcessStatistics.current().exposition.utf8) }
}

/// Counts the twin cache's misses and flushes in the relay's metrics.
struct TwinCacheMetrics: TwinCacheObserver {
    let metrics: RelayMetrics
    func twinCacheMissed() { metrics.cacheMisses.increment() }
    func twinCacheFlushed() { metrics.cacheFlushes.increment() }
}
