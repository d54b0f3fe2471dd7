import Foundation
import Logging
import RedisClient
import Redundancy
import RMBEngine
import RMBIdentity
import RMBProtocol
import ServiceLifecycle
import Store
import TwinDirectory

/// The running gateway: the peer engine (``PeerEngine``) with the Redis JSON API as its
/// front-end (local intake from `msgbus.system.local` / `msgbus.system.reply`, deliveries pushed
/// to Redis lists) and an optional metrics endpoint. A swift-service-lifecycle `Service`: run
/// it in a `ServiceGroup`, whose graceful shutdown (SIGTERM) stops it in order — local intake
/// first, then (bounded by ``Configuration/drainTimeout``) the batches in flight are confirmed
/// and their confirmations stored, then the relay sessions get close frames, then the store
/// closes. Cancellation stops everything at once; nothing is lost either way (the store re-sends
/// after a restart), a graceful stop only sends fewer copies twice.
public final class PeerService: Service, Sendable {
    public struct Configuration: Sendable {
        public var identity: Identity
        public var relays: [RelayAddress]
        public var redisURL: String
        public var storePath: String
        public var storeMapSize: Int = 1 << 30
        public var connection = RelayConnection.Configuration()
        /// Where to serve `GET /metrics` (Prometheus); `nil` = no listening port.
        public var metricsAddress: (host: String, port: Int)?
        /// How long a graceful stop waits for batches in flight to be confirmed.
        public var drainTimeout: Duration = .seconds(5)
        /// How long a graceful stop waits for the relays to answer the close frames.
        public var closeTimeout: Duration = .seconds(2)

        public init(identity: Identity, relays: [RelayAddress], redisURL: String, storePath: String) {
            self.identity = identity; self.relays = relays; self.redisURL = redisURL; self.storePath = storePath
        }
    }

    let engine: PeerEngine
    public var peer: PeerIdentity { engine.peer }
    public var relays: RelayPool { engine.relays }
    public var store: Store { engine.store }
    public var metrics: PeerMetrics { engine.metrics }
    private let metricsAddress: (host: String, port: Int)?
    private let redis: RedisClient
    private let logger: Logger

    /// Reaches Redis, resolves the twin of the identity and opens the store; throws with a
    /// clear message.
    public init(configuration: Configuration, directory: any TwinDirectory, clock: any Clock<Duration> = ContinuousClock(),
                logger: Logger) async throws {
        let redis = try RedisClient(url: configuration.redisURL, poolSize: 4, logger: logger)
        do { _ = try await redis.send(["PING"]) } catch {
            redis.close()
            throw PeerError.redisUnreachable(configuration.redisURL, String(describing: error))
        }
        var engineConfiguration = PeerEngine.Configuration(identity: configuration.identity, relays: configuration.relays,
                                                           storePath: configuration.storePath)
        engineConfiguration.storeMapSize = configuration.storeMapSize
        engineConfiguration.connection = configuration.connection
        engineConfiguration.drainTimeout = configuration.drainTimeout
        engineConfiguration.closeTimeout = configuration.closeTimeout
        do {
            engine = try await PeerEngine(configuration: engineConfiguration, directory: directory, local: RedisDelivery(redis: redis),
                                          clock: clock, logger: logger)
        } catch {
            redis.close()
            throw error
        }
        self.redis = redis
        self.metricsAddress = configuration.metricsAddress
        self.logger = logger
    }

    /// Runs until a graceful shutdown (drains in order, see the type) or cancellation, then
    /// closes the store. With a metrics address, the endpoint listens first: a peer that cannot
    /// serve the metrics it was asked for does not start (``PeerError/metricsUnavailable(_:_:)``),
    /// so the operator learns it from the exit status and the log, not from a scrape that fails.
    public func run() async throws {
        defer { redis.close() }
        guard let address = metricsAddress else {
            await engine.run(intake: { await self.runIntake() })
            return
        }
        let endpoint = MetricsEndpoint(host: address.host, port: address.port, metrics: engine.metrics, relays: engine.relays,
                                       store: engine.store, logger: logger)
        let (listening, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Stops at the start of a graceful shutdown (Hummingbird follows it).
            group.addTask {
                defer { signal.finish() }
                try await endpoint.run { signal.yield() }
            }
            var iterator = listening.makeAsyncIterator()
            guard await iterator.next() != nil else {
                // It never listened: its error says why (or a shutdown came first).
                await engine.store.close()
                try await group.waitForAll()
                return
            }
            await engine.run(intake: { await self.runIntake() })
            group.cancelAll()
        }
    }

    /// Takes local requests and replies until cancelled (by a graceful shutdown, first thing).
    private func runIntake() async {
        let engine = self.engine
        await withDiscardingTaskGroup { group in
            for queue in [RedisKeys.local, RedisKeys.reply] {
                group.addTask {
                    await LocalIntake(queue: queue, redis: self.redis, pipeline: engine.pipeline, store: engine.store,
                                      metrics: engine.metrics, logger: self.logger).run()
                }
            }
        }
    }
}
