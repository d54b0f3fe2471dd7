import Foundation
import Logging
import RMBIdentity
import RMBProtocol
import RedisClient
import Redundancy
import Store
import TwinDirectory

/// The running gateway: relay sessions, local intake, postman, downstream.
public final class PeerService: Sendable {
    public struct Configuration: Sendable {
        public var identity: Identity
        public var relays: [RelayAddress]
        public var redisURL: String
        public var storePath: String
        public var storeMapSize: Int = 1 << 30
        public var connection = RelayConnection.Configuration()
        /// Where to serve `GET /metrics` (Prometheus); `nil` = no listening port.
        public var metricsAddress: (host: String, port: Int)?

        public init(identity: Identity, relays: [RelayAddress], redisURL: String, storePath: String) {
            self.identity = identity; self.relays = relays; self.redisURL = redisURL; self.storePath = storePath
        }
    }

    public let peer: PeerIdentity
    public let relays: RelayPool
    public let store: Store
    public let metrics = PeerMetrics()
    private let metricsAddress: (host: String, port: Int)?
    private let redis: RedisClient
    private let directory: any TwinDirectory
    private let logger: Logger

    /// Resolves the twin of the identity and opens the store; throws with a clear message.
    public init(configuration: Configuration, directory: any TwinDirectory, logger: Logger) async throws {
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

    /// Runs until cancelled (SIGTERM/SIGINT in the executable), then closes the store.
    public func run() async {
        let keys = E2EKeyCache(ownKey: peer.identity.e2eKey)
        let factory = EnvelopeFactory(peer: peer, directory: directory, keys: keys)
        let validator = IncomingValidator(peer: peer, directory: directory, keys: keys)
        let doorbell = Doorbell()
        let wake: @Sendable () -> Void = { doorbell.ringLater() }
        let pipeline = OutgoingPipeline(factory: factory, store: store, logger: logger)
        logger.info("rmb-peer running", metadata: ["twin": "\(peer.twinID)", "account": "\(peer.identity.account.ss58)",
                                                   "relays": "\(relays.connections.map { $0.relay.canonical })"])
        await withDiscardingTaskGroup { group in
            group.addTask { await self.relays.run() }
            let undeliverable = UndeliverableReporter(store: self.store, redis: self.redis, logger: self.logger)
            group.addTask {
                await Postman(store: self.store, relays: self.relays, doorbell: doorbell, undeliverable: undeliverable,
                              metrics: self.metrics, logger: self.logger).run()
            }
            group.addTask {
                await Downstream(validator: validator, factory: factory, store: self.store, redis: self.redis,
                                 wakePostman: wake, metrics: self.metrics, logger: self.logger).run(self.relays.inbound)
            }
            for queue in [RedisKeys.local, RedisKeys.reply] {
                group.addTask {
                    await LocalIntake(queue: queue, redis: self.redis, pipeline: pipeline, store: self.store,
                                      wakePostman: wake, metrics: self.metrics, logger: self.logger).run()
                }
            }
            let relays = self.relays
            group.addTask {
                await Resender(store: self.store, wakePostman: wake, connectionsLost: { await relays.status().reduce(0) { $0 + $1.connectionsLost } },
                               metrics: self.metrics, logger: self.logger).run()
            }
            if let address = self.metricsAddress {
                group.addTask {
                    await MetricsEndpoint(host: address.host, port: address.port, metrics: self.metrics, relays: self.relays,
                                          store: self.store, logger: self.logger).run()
                }
            }
            group.addTask { await self.sweep(reporting: undeliverable) }
            group.addTask { await StatusReporter(peer: self.peer, relays: self.relays, store: self.store, logger: self.logger).run() }
        }
        redis.close()
        await store.close()
        logger.info("rmb-peer stopped")
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
