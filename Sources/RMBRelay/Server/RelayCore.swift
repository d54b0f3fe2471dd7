import TwinDirectory
import Foundation
import Logging
import ProcessLifecycle
import RedisClient

/// The shared state of one relay instance: configuration, sessions, Redis access, routing,
/// limits and metrics. Everything in it is `Sendable` and owned by exactly one relay.
final class RelayCore: Sendable {
    let configuration: RelayConfiguration
    let logger: Logger
    let redis: RedisClient
    let store: RelayStore
    /// Twins looked up by routing and authentication, kept fresh by chain events.
    let twins: CachedTwinDirectory
    let registry: SessionRegistry
    /// Open WebSocket connections, registered or not (for shutdown).
    let connections = LiveConnections()
    let metrics: RelayMetrics
    let delivery: StreamDelivery
    let router: EnvelopeRouter
    let authenticator: Authenticator
    let rateLimiter: RateLimiter?
    /// Federation ingress quota per destination twin (`--federation-limit`).
    let ingressLimiter: RateLimiter?
    /// Open TCP connections of every stage, capped (`ConnectionLimits`).
    let admission: ConnectionAdmission
    /// One line per interval for errors a stranger can repeat at will.
    let logThrottle: LogThrottle
    /// What every timer of the relay sleeps on: back-offs, sweeps, the federation's retries and
    /// pauses, the shutdown bound (a test's manual clock drives them). Polls for room in a queue
    /// stay on real time: they wait for another task, not for time.
    let clock: any Clock<Duration>
    /// Time since the relay started on `clock`: when a session was last heard, since when it is
    /// back-pressured, when a federation retry is due.
    let stopwatch: Stopwatch

    init(configuration: RelayConfiguration, twins: any TwinDirectory, redis: RedisClient, metrics: RelayMetrics,
         clock: any Clock<Duration>, logger: Logger) {
        self.configuration = configuration
        self.clock = clock
        stopwatch = Stopwatch(clock)
        logThrottle = LogThrottle(stopwatch: stopwatch)
        self.logger = logger
        self.redis = redis
        self.metrics = metrics
        let processID = "\(ProcessInfo.processInfo.hostName.prefix(32))-\(getpid())-\(UUID().uuidString.prefix(8))"
        store = RelayStore(redis: redis, processID: processID)
        let cache = CachedTwinDirectory(backend: twins, configuration: RelayCore.twinCache, observer: TwinCacheMetrics(metrics: metrics))
        self.twins = cache
        registry = SessionRegistry(workers: configuration.workers, usersPerWorker: configuration.usersPerWorker) { worker, sessions in
            metrics.workerConnections(worker, sessions)
        }
        delivery = StreamDelivery(store: store, clock: clock, logger: logger)
        router = EnvelopeRouter(configuration: configuration, registry: registry, store: store, twins: cache,
                                delivery: delivery, metrics: metrics, logger: logger)
        authenticator = Authenticator(twins: cache, maxLifetime: configuration.maxTokenLifetime)
        rateLimiter = configuration.rateLimit.map { RateLimiter(limit: $0, capacity: 2 * min(configuration.maxUsers, 500_000)) }
        ingressLimiter = configuration.federationLimit.map { RateLimiter(limit: $0, capacity: 100_000) }
        admission = ConnectionAdmission(limits: configuration.limits)
    }

    /// Lookups by id are cached a minute (chain events refresh them sooner), "no such twin"
    /// half as long; room for as many twins as a busy relay serves.
    static let twinCache = CachedTwinDirectory.Configuration(positiveTTL: .seconds(60), negativeTTL: .seconds(30), maximumEntries: 100_000)

    var presenceTTLSeconds: Int { max(3, Int(configuration.presenceTTL.components.seconds)) }
}
