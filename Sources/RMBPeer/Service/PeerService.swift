import Foundation
import Logging
import RMBIdentity
import RMBProtocol
import RedisClient
import Redundancy
import ServiceLifecycle
import Store
import TwinDirectory

/// The running gateway: relay sessions, local intake, postman, downstream. A swift-service-lifecycle
/// `Service`: run it in a `ServiceGroup`, whose graceful shutdown (SIGTERM) stops it in order —
/// local intake first, then (bounded by ``Configuration/drainTimeout``) the batches in flight
/// are confirmed and their confirmations stored, then the relay sessions get close frames, then
/// the store closes. Cancellation stops everything at once; nothing is lost either way (the
/// store re-sends after a restart), a graceful stop only sends fewer copies twice.
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

    public let peer: PeerIdentity
    public let relays: RelayPool
    public let store: Store
    public let metrics = PeerMetrics()
    private let metricsAddress: (host: String, port: Int)?
    private let drainTimeout: Duration
    private let closeTimeout: Duration
    private let clock: any Clock<Duration>
    private let redis: RedisClient
    private let directory: any TwinDirectory
    private let logger: Logger

    /// Resolves the twin of the identity and opens the store; throws with a clear message.
    public init(configuration: Configuration, directory: any TwinDirectory, clock: any Clock<Duration> = ContinuousClock(),
                logger: Logger) async throws {
        guard let twinID = try await directory.twinID(account: configuration.identity.account) else {
            throw PeerError.noTwin(configuration.identity.account.ss58)
        }
        let peer = PeerIdentity(twinID: twinID, identity: configuration.identity)
        var relayList = configuration.relays
        if relayList.isEmpty, let own = try await directory.twin(id: twinID) { relayList = own.relays }
        guard !relayList.isEmpty else { throw PeerError.noRelays }
        self.peer = peer
        self.directory = directory
        self.logger = logger
        self.metricsAddress = configuration.metricsAddress
        self.drainTimeout = configuration.drainTimeout
        self.closeTimeout = configuration.closeTimeout
        self.clock = clock
        self.redis = try RedisClient(url: configuration.redisURL, poolSize: 4, logger: logger)
        do { _ = try await redis.send(["PING"]) } catch {
            throw PeerError.redisUnreachable(configuration.redisURL, String(describing: error))
        }
        self.store = try Store.open(path: configuration.storePath, mapSize: configuration.storeMapSize, logger: logger)
        let identity = configuration.identity
        self.relays = RelayPool(relays: relayList, peer: peer.address, configuration: configuration.connection, logger: logger) {
            try RelayToken.make(identity: identity, twin: twinID)
        }
    }

    /// Runs until a graceful shutdown (drains in order, see the type) or cancellation, then
    /// closes the store.
    public func run() async {
        let keys = E2EKeyCache(ownKey: peer.identity.e2eKey)
        let factory = EnvelopeFactory(peer: peer, directory: directory, keys: keys)
        let validator = IncomingValidator(peer: peer, directory: directory, keys: keys)
        let doorbell = Doorbell()
        let wake: @Sendable () -> Void = { doorbell.ringLater() }
        let pipeline = OutgoingPipeline(factory: factory, store: store, logger: logger)
        let progress = Postman.Progress()
        logger.info("rmb-peer running", metadata: ["twin": "\(peer.twinID)", "account": "\(peer.identity.account.ss58)",
                                                   "relays": "\(relays.connections.map { $0.relay.canonical })"])
        // The relay sessions run outside the graceful shutdown's reach: swift-websocket closes a
        // connection as soon as its task sees one, and they must carry the drain. They stop
        // when told (close frames) or cancelled with this task.
        let relays = self.relays
        let sessions = Task.detached { await relays.run() }
        // For the log only: how long each step of a stop took.
        var stopBegan: ContinuousClock.Instant?
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                let undeliverable = UndeliverableReporter(store: self.store, redis: self.redis, logger: self.logger)
                group.addTask {
                    await Postman(store: self.store, relays: relays, doorbell: doorbell, undeliverable: undeliverable,
                                  metrics: self.metrics, logger: self.logger, progress: progress).run()
                }
                group.addTask {
                    // Ends when the sessions end (their inbound stream finishes).
                    await Downstream(validator: validator, factory: factory, store: self.store, redis: self.redis,
                                     wakePostman: wake, metrics: self.metrics, logger: self.logger).run(relays.inbound)
                }
                group.addTask {
                    await Resender(store: self.store, wakePostman: wake, connectionsLost: { await relays.status().reduce(0) { $0 + $1.connectionsLost } },
                                   metrics: self.metrics, logger: self.logger).run()
                }
                if let address = self.metricsAddress {
                    group.addTask {
                        // Stops at the start of a graceful shutdown (Hummingbird follows it).
                        await MetricsEndpoint(host: address.host, port: address.port, metrics: self.metrics, relays: relays,
                                              store: self.store, logger: self.logger).run()
                    }
                }
                group.addTask { await self.sweep(reporting: undeliverable) }
                group.addTask { await StatusReporter(peer: self.peer, relays: relays, store: self.store, logger: self.logger).run() }

                await cancelWhenGracefulShutdown { await self.runIntake(pipeline: pipeline, wake: wake) }
                stopBegan = .now
                if !Task.isCancelled { await self.drain(progress, sessions: sessions, began: .now) }
                sessions.cancel()
                await sessions.value
                group.cancelAll()
            }
        } onCancel: {
            sessions.cancel()
        }
        redis.close()
        await store.close()
        logger.info("rmb-peer stopped", metadata: stopBegan.map { ["stop_ms": "\(Self.milliseconds(since: $0))"] } ?? [:])
    }

    private static func milliseconds(since instant: ContinuousClock.Instant) -> Int64 {
        let elapsed = ContinuousClock.now - instant
        return elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    }

    /// Takes local requests and replies until cancelled (by a graceful shutdown, first thing).
    private func runIntake(pipeline: OutgoingPipeline, wake: @escaping @Sendable () -> Void) async {
        await withDiscardingTaskGroup { group in
            for queue in [RedisKeys.local, RedisKeys.reply] {
                group.addTask {
                    await LocalIntake(queue: queue, redis: self.redis, pipeline: pipeline, store: self.store,
                                      wakePostman: wake, metrics: self.metrics, logger: self.logger).run()
                }
            }
        }
    }

    /// The graceful stop after the intake ended: waits (at most ``Configuration/drainTimeout``)
    /// until no batch is in flight and nothing in the outbox is due, then closes the relay
    /// sessions with close frames (at most ``Configuration/closeTimeout``).
    private func drain(_ progress: Postman.Progress, sessions: Task<Void, Never>, began: ContinuousClock.Instant) async {
        logger.info("shutting down: local intake stopped, waiting for batches in flight")
        if await waitUntilSettled(progress) {
            logger.info("shutting down: every batch in flight is confirmed", metadata: ["after_ms": "\(Self.milliseconds(since: began))"])
        } else if !Task.isCancelled {
            logger.warning("shutting down with batches unconfirmed: they are sent again after the restart",
                           metadata: ["batches_in_flight": "\(progress.inFlight.count)", "drain_timeout": "\(drainTimeout)"])
        }
        logger.info("shutting down: closing relay sessions", metadata: ["after_ms": "\(Self.milliseconds(since: began))"])
        await relays.closeSessions()
        let closeTimeout = self.closeTimeout, clock = self.clock
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await sessions.value }
            group.addTask { try? await clock.sleep(for: closeTimeout, tolerance: nil) }
            await group.next()
            group.cancelAll()
        }
        logger.info("shutting down: relay sessions closed", metadata: ["after_ms": "\(Self.milliseconds(since: began))"])
    }

    /// True once no batch is in flight and nothing in the outbox is due; false at the drain
    /// timeout or on cancellation.
    private func waitUntilSettled(_ progress: Postman.Progress) async -> Bool {
        let clock = self.clock, drainTimeout = self.drainTimeout, store = self.store
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    let due = (try? store.outbox.nextDueTime()).flatMap { $0 }.map { $0.millis <= store.now().millis } ?? false
                    if progress.isSettled && !due { return true }
                    try? await clock.sleep(for: .milliseconds(20), tolerance: nil)
                }
                return false
            }
            group.addTask {
                try? await clock.sleep(for: drainTimeout, tolerance: nil)
                return false
            }
            let settled = await group.next() ?? false
            group.cancelAll()
            return settled
        }
    }

    /// Expired inbox keys (with their stored replies), backlogs, outbox entries and awaiting
    /// requests go away in bounded sweeps.
    /// Requests that expired in the outbox are reported to their clients.
    private func sweep(reporting undeliverable: UndeliverableReporter) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(5))
            do {
                let report = try await store.sweepExpired(limit: 1000)
                if !report.expiredOutbox.isEmpty {
                    metrics.envelopesExpired.increment(by: report.expiredOutbox.count)
                    logger.warning("dropping expired outgoing envelopes", metadata: ["count": "\(report.expiredOutbox.count)"])
                    await undeliverable.reportExpired(report.expiredOutbox, backlogs: report.expiredRequestBacklogs)
                }
            } catch {
                logger.warning("store sweep failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

public enum PeerError: Error, CustomStringConvertible {
    case noTwin(String)
    case noRelays
    case redisUnreachable(String, String)

    public var description: String {
        switch self {
        case .noTwin(let account): "no twin found on this network with given key (account \(account))"
        case .noRelays: "no relay configured: pass --relay or list relays on the twin record"
        case .redisUnreachable(let url, let detail): "cannot reach Redis at \(url): \(detail)"
        }
    }
}
