import Foundation
import Logging
import ProcessLifecycle
import RMBIdentity
import RMBProtocol
import Redundancy
import ServiceLifecycle
import Store
import TwinDirectory

/// The one peer engine: sessions to every relay of the twin (``RelayPool``), the crash-safe
/// store, the postman, the downstream, the resender and the sweeps. Front-ends feed it and hear
/// from it: `rmb-peer` through Redis (``PeerService``), a direct peer in process
/// (`RMBDirectPeer`). What arrives for local applications leaves through the front-end's
/// ``LocalDelivery``; what local applications send enters through ``queue(requests:)`` and
/// ``queue(responses:)`` (or, for rmb-peer's intake, the same pipeline).
package final class PeerEngine: Sendable {
    package struct Configuration: Sendable {
        package var identity: Identity
        package var relays: [RelayAddress]
        package var storePath: String
        package var storeMapSize: Int = 1 << 30
        /// Whether a commit waits for its fsync (false: the store survives a crash of the
        /// process but not of the machine, and costs no disk flush; a direct peer without a
        /// persistent store uses it in a private directory).
        package var durableStore = true
        /// Whether local requests and answers may wait a few milliseconds to share a commit
        /// (``OutgoingPipeline/defersCommits``): for a front-end that never waits for their
        /// commit on a call's path. With a durable store that saves the fsyncs; without one it
        /// moves the small transactions each call made on its event loop's thread to the writer
        /// thread (no change beyond the noise at 500 calls/s).
        package var defersLocalCommits = false
        package var connection = RelayConnection.Configuration()
        /// How long a graceful stop waits for batches in flight to be confirmed.
        package var drainTimeout: Duration = .seconds(5)
        /// How long a graceful stop waits for the relays to answer the close frames.
        package var closeTimeout: Duration = .seconds(2)
        /// How the log names this peer ("rmb-peer running").
        package var name = "rmb-peer"

        package init(identity: Identity, relays: [RelayAddress], storePath: String) {
            self.identity = identity; self.relays = relays; self.storePath = storePath
        }
    }

    package let peer: PeerIdentity
    package let relays: RelayPool
    package let store: Store
    package let metrics = PeerMetrics()
    package let pipeline: OutgoingPipeline
    let factory: EnvelopeFactory
    let validator: IncomingValidator
    private let doorbell: Doorbell
    private let progress: Postman.Progress
    private let local: any LocalDelivery
    private let drainTimeout: Duration
    private let closeTimeout: Duration
    private let clock: any Clock<Duration>
    /// Warnings that repeat per batch or sweep (a backlog while no relay is up): a line per interval.
    private let logThrottle: LogThrottle
    private let name: String
    private let logger: Logger

    /// Resolves the twin of the identity (and its relays when none are given) and opens the
    /// store; throws with a clear message.
    package init(configuration: Configuration, directory: any TwinDirectory, local: any LocalDelivery,
                 clock: any Clock<Duration> = ContinuousClock(), logger: Logger) async throws {
        guard let twinID = try await directory.twinID(account: configuration.identity.account) else {
            throw PeerError.noTwin(configuration.identity.account.ss58)
        }
        let peer = PeerIdentity(twinID: twinID, identity: configuration.identity)
        var relayList = configuration.relays
        if relayList.isEmpty, let own = try await directory.twin(id: twinID) { relayList = own.relays }
        guard !relayList.isEmpty else { throw PeerError.noRelays }
        self.peer = peer
        self.local = local
        self.name = configuration.name
        self.logger = logger
        self.drainTimeout = configuration.drainTimeout
        self.closeTimeout = configuration.closeTimeout
        self.clock = clock
        self.logThrottle = LogThrottle(stopwatch: Stopwatch(clock))
        self.store = try Store.open(path: configuration.storePath, mapSize: configuration.storeMapSize,
                                    durable: configuration.durableStore, logger: logger)
        let identity = configuration.identity
        self.relays = RelayPool(relays: relayList, peer: peer.address, configuration: configuration.connection, logger: logger) {
            try RelayToken.make(identity: identity, twin: twinID)
        }
        let keys = E2EKeyCache(ownKey: peer.identity.e2eKey)
        factory = EnvelopeFactory(peer: peer, directory: directory, keys: keys)
        validator = IncomingValidator(peer: peer, directory: directory, keys: keys)
        let doorbell = Doorbell(), progress = Postman.Progress()
        self.doorbell = doorbell
        self.progress = progress
        pipeline = OutgoingPipeline(factory: factory, store: store, postman: progress, doorbell: doorbell,
                                    unsettled: UnsettledRequests(), logger: logger,
                                    defersCommits: configuration.defersLocalCommits)
    }

    /// Signs and encrypts requests of local callers (one envelope per destination), queues
    /// their commit and hands them to the postman; returns once they are queued (what is queued
    /// later goes after them) with their outcome to await once: when durable, what could not be
    /// sent, for each caller to hear.
    package func queue(requests: [(request: ClientRequest, uid: String)]) async -> @Sendable () async -> [(replyTo: String, response: ClientResponse)] {
        var prepared = OutgoingPipeline.Prepared()
        for (request, uid) in requests { await pipeline.prepare(request: request, uid: uid, into: &prepared) }
        let queued = pipeline.queue(prepared)
        let metrics = self.metrics, count = requests.count
        return {
            let failures = await queued.outcome()
            metrics.localAccepted.increment(by: max(0, count - failures.count))
            metrics.localRefused.increment(by: failures.count)
            return failures.map { ($0.replyTo, $0.response) }
        }
    }

    /// Queues local services' answers to remote requests (each kept with its request, for a
    /// re-sent copy) and hands them to the postman; returns once they are queued, with the wait
    /// for their commit (failures are logged).
    package func queue(responses: [ServiceResponse]) async -> @Sendable () async -> Void {
        var prepared = OutgoingPipeline.Prepared()
        for response in responses { await pipeline.prepare(response: response, into: &prepared) }
        let queued = pipeline.queue(prepared)
        return { _ = await queued.outcome() }
    }

    /// Runs until a graceful shutdown (then drains in order) or cancellation, then closes the
    /// store. `intake` takes local work until the graceful shutdown cancels it (first step of
    /// the stop).
    package func run(intake: @escaping @Sendable () async -> Void) async {
        logger.info("\(name) running", metadata: ["twin": "\(peer.twinID)", "account": "\(peer.identity.account.ss58)",
                                               "relays": "\(relays.connections.map { $0.relay.canonical })"])
        // The relay sessions run outside the graceful shutdown's reach: swift-websocket closes a
        // connection as soon as its task sees one, and they must carry the drain. They stop
        // when told (close frames) or cancelled with this task.
        let relays = self.relays
        let sessions = Task.detached { await relays.run() }
        // For the log only: how long each step of a stop took.
        var stopBegan: ContinuousClock.Instant?
        let doorbell = self.doorbell, progress = self.progress
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                let undeliverable = UndeliverableReporter(store: self.store, local: self.local, logger: self.logger)
                group.addTask {
                    await Postman(store: self.store, relays: relays, doorbell: doorbell, undeliverable: undeliverable,
                                  metrics: self.metrics, logger: self.logger, logThrottle: self.logThrottle, progress: progress).run()
                }
                group.addTask {
                    // Ends when the sessions end (their inbound stream finishes).
                    await Downstream(validator: self.validator, factory: self.factory, store: self.store, local: self.local,
                                     unsettledRequests: self.pipeline.unsettled, wakePostman: { doorbell.ringLater() }, metrics: self.metrics, logger: self.logger).run(relays.inbound)
                }
                group.addTask {
                    await Resender(store: self.store, wakePostman: { doorbell.ringLater() },
                                   connectionsLost: { await relays.status().reduce(0) { $0 + $1.connectionsLost } },
                                   metrics: self.metrics, logger: self.logger).run()
                }
                group.addTask { await self.sweep(reporting: undeliverable) }
                group.addTask { await StatusReporter(peer: self.peer, relays: relays, store: self.store, logger: self.logger).run() }

                await cancelWhenGracefulShutdown { await intake() }
                stopBegan = .now
                if !Task.isCancelled { await self.drain(sessions: sessions, began: .now) }
                sessions.cancel()
                await sessions.value
                group.cancelAll()
            }
        } onCancel: {
            sessions.cancel()
        }
        await store.close()
        logger.info("\(name) stopped", metadata: stopBegan.map { ["stop_ms": "\(Self.milliseconds(since: $0))"] } ?? [:])
    }

    private static func milliseconds(since instant: ContinuousClock.Instant) -> Int64 {
        let elapsed = ContinuousClock.now - instant
        return elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    }

    /// The graceful stop after the intake ended: waits (at most ``Configuration/drainTimeout``)
    /// until no batch is in flight and nothing in the outbox is due, then closes the relay
    /// sessions with close frames (at most ``Configuration/closeTimeout``).
    private func drain(sessions: Task<Void, Never>, began: ContinuousClock.Instant) async {
        logger.info("shutting down: local intake stopped, waiting for batches in flight")
        if await waitUntilSettled() {
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
    private func waitUntilSettled() async -> Bool {
        let clock = self.clock, drainTimeout = self.drainTimeout, store = self.store, progress = self.progress
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
    /// requests go away in bounded sweeps, as of the store's clock. Requests that expired in the
    /// outbox are reported to their callers.
    private func sweep(reporting undeliverable: UndeliverableReporter) async {
        while !Task.isCancelled {
            try? await clock.sleep(for: .seconds(5), tolerance: nil)
            do {
                let report = try await store.sweepExpired(now: store.now(), limit: 1000)
                if !report.expiredOutbox.isEmpty {
                    metrics.envelopesExpired.increment(by: report.expiredOutbox.count)
                    logThrottle.log(LogThrottle.expiredOutgoing, level: .warning, "dropping expired outgoing envelopes",
                                    amount: report.expiredOutbox.count, to: logger)
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
    /// `--metrics` names an address the peer cannot listen on (in use, not local, no permission).
    case metricsUnavailable(String, String)

    public var description: String {
        switch self {
        case .noTwin(let account): "no twin found on this network with given key (account \(account))"
        case .noRelays: "no relay configured: pass --relay or list relays on the twin record"
        case .redisUnreachable(let url, let detail): "cannot reach Redis at \(url): \(detail)"
        case .metricsUnavailable(let address, let detail): "cannot serve metrics on \(address): \(detail)"
        }
    }
}
