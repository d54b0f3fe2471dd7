import Foundation
import Logging
import Redundancy
import RMBCalls
import RMBEngine
import RMBIdentity
import RMBProtocol
import ServiceLifecycle
import Store
import Synchronization
import TwinDirectory

/// The bus in process: calls and serves RMB with no `rmb-peer` and no Redis. The app holds its
/// own sessions to every relay of its twin, signs, verifies, encrypts and decrypts itself, looks
/// twins up through a ``TwinDirectory`` (tfchain, or a local file), and keeps a store for
/// retries and de-duplication — the same engine as `rmb-peer` (which is its Redis front-end), so
/// the same guarantees: each request is handed to a handler once however many copies arrive,
/// a request is re-sent until answered or expired, a lost relay costs milliseconds.
///
/// Calls are ``RMBCaller`` calls, as with ``RMBClient``; requests are served by an ``RMBRouter``.
/// The peer works while ``run()`` runs: run it in a `ServiceGroup`, whose graceful shutdown
/// stops taking calls and requests, lets the handlers in flight finish and their answers be
/// sent, lets the batches in flight be confirmed and closes the relay sessions.
///
/// ```swift
/// import RMBDirectPeer
/// import RMBIdentity
/// import ServiceLifecycle
/// import TwinDirectory
///
/// var router = RMBRouter()
/// router.handle("calculator.add") { (input: [Int], _) in input.reduce(0, +) }
///
/// let identity = try Identity(parsing: mnemonic, keyType: .sr25519)
/// var configuration = RMBDirectPeer.Configuration(identity: identity)
/// configuration.store = .lmdb(path: "/var/lib/my-app/rmb")
/// let peer = try await RMBDirectPeer(configuration: configuration, directory: directory, router: router)
/// let group = ServiceGroup(services: [peer], gracefulShutdownSignals: [.sigterm], logger: logger)
/// async let running: Void = group.run()
/// let sum: Int = try await peer.call(twin: 42, "calculator.add", [40, 2], timeout: .seconds(30))
/// ```
public final class RMBDirectPeer: RMBCaller, Service {
    /// Where the peer keeps its outbox, inbox and awaited replies.
    public enum StoreLocation: Sendable, Hashable {
        /// A private directory removed when the peer stops, written without fsync: retries and
        /// de-duplication within one run, nothing across a restart.
        case none
        /// A crash-safe store in this directory (created if needed): what was stored is re-sent
        /// and what was received is not handed over twice, across kill -9 and restarts. A
        /// request or answer leaves once its write is queued, and the write joins the next
        /// commit within 20 ms (one fsync for every call of those milliseconds): a crash
        /// before that commit is durable forgets it (a call dies with the process anyway; an
        /// answer's request is forgotten with it, so a re-sent copy is answered again). One
        /// process per directory.
        case lmdb(path: String)
    }

    public struct Configuration: Sendable {
        /// The twin's keys (its twin id is looked up by account in the directory).
        public var identity: Identity
        /// The relays to hold sessions to; empty: the relays on the twin's record.
        public var relays: [RelayAddress] = []
        public var store: StoreLocation = .none
        /// Timeout of a call that gives none; also the request's ttl.
        public var defaultTimeout: Duration = .seconds(60)
        /// Handlers running at once; requests beyond wait (and, past as many again, the relay
        /// sessions stop reading until the handlers catch up).
        public var handlerConcurrency: Int = 64
        /// How long a graceful stop waits for the handlers in flight to answer (then they are
        /// cancelled), and then for batches in flight to be confirmed.
        public var drainTimeout: Duration = .seconds(5)

        public init(identity: Identity, relays: [RelayAddress] = []) {
            self.identity = identity
            self.relays = relays
        }
    }

    public let configuration: Configuration
    /// The router whose handlers serve requests to this twin (none: every request is answered
    /// with error 404).
    public let router: RMBRouter
    /// This peer's twin id.
    public var twinID: UInt32 { engine.peer.twinID }

    /// The peer's metrics in the Prometheus text format, under the names rmb-peer's `/metrics`
    /// uses (envelopes sent and received, duplicates dropped, extra copies by reason, relay
    /// health, store depths): serve them from the application's own HTTP endpoint.
    public func metricsText() async -> String {
        let body = engine.metrics.exposition(relays: await engine.relays.status(), store: try? engine.store.stats())
        return String(decoding: body, as: UTF8.self)
    }

    private let engine: PeerEngine
    private let waiters: ReplyWaiters
    /// Requests of concurrent calls go to the store together (one commit per batch), as
    /// rmb-peer's intake takes Redis messages in batches.
    private let requestBatcher: SubmissionBatcher<(request: ClientRequest, uid: String)>
    private let requests = LaneBuffer<ServiceRequest>()
    private let accepting = Atomic<Bool>(true)
    private let serving = ServingGate()
    private let temporaryStore: String?
    private let clock: any Clock<Duration>
    private let logger: Logger

    /// Looks the twin up and opens the store; throws with a clear message (no twin for the
    /// identity's account, no relays, a store that cannot be opened).
    public init(configuration: Configuration, directory: any TwinDirectory, router: RMBRouter = RMBRouter(),
                clock: any Clock<Duration> = ContinuousClock(), logger: Logger = Logger(label: "rmb.direct")) async throws {
        let storePath: String
        switch configuration.store {
        case .none:
            storePath = try Self.makeTemporaryDirectory()
            temporaryStore = storePath
        case .lmdb(let path):
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            storePath = path
            temporaryStore = nil
        }
        var engineConfiguration = PeerEngine.Configuration(identity: configuration.identity, relays: configuration.relays,
                                                           storePath: storePath)
        engineConfiguration.durableStore = temporaryStore == nil
        // Nothing on a call's path waits for a commit (see `serve` and the request batcher).
        engineConfiguration.defersLocalCommits = true
        engineConfiguration.drainTimeout = configuration.drainTimeout
        engineConfiguration.name = "direct peer"
        let waiters = ReplyWaiters(clock: clock), requests = self.requests, serving = self.serving
        self.waiters = waiters
        let limit = max(1, configuration.handlerConcurrency)
        let engine: PeerEngine
        do {
            engine = try await PeerEngine(
                configuration: engineConfiguration, directory: directory,
                local: DirectDelivery(waiters: waiters, requests: requests, queueLimit: limit, handedOver: HandedOverKeys(),
                                      serving: serving, now: { .now }, logger: logger),
                clock: clock, logger: logger)
        } catch {
            if let temporaryStore { try? FileManager.default.removeItem(atPath: temporaryStore) }
            throw error
        }
        self.engine = engine
        requestBatcher = SubmissionBatcher { [waiters] requests in
            let outcome = await engine.queue(requests: requests)
            return .settling {
                // A request that cannot be sent (unknown twin, store full) is answered at once.
                for (_, response) in await outcome() {
                    if let reference = response.reference { waiters.settle(reference, ReplyWaiters.outcome(of: response)) }
                }
                return .success(())
            }
        }
        self.configuration = configuration
        self.router = router
        self.clock = clock
        self.logger = logger
    }

    deinit {
        if let temporaryStore { try? FileManager.default.removeItem(atPath: temporaryStore) }
    }

    /// Holds the relay sessions, sends, receives and serves until a graceful shutdown or
    /// cancellation. A graceful shutdown stops in order: no new calls and no new requests for
    /// the handlers; the handlers in flight (and those queued) finish, at most
    /// ``Configuration/drainTimeout`` (then they are cancelled), and their answers are stored;
    /// the batches in flight, those answers included, are confirmed by a relay (again at most
    /// `drainTimeout`); the relay sessions get close frames. Cancellation stops at once.
    public func run() async throws {
        let router = self.router, requests = self.requests, engine = self.engine
        let concurrency = max(1, configuration.handlerConcurrency), logger = self.logger
        let drainTimeout = configuration.drainTimeout, clock = self.clock
        let handlers = Task { await Self.serve(requests, router: router, engine: engine, concurrency: concurrency, logger: logger) }
        await withTaskCancellationHandler {
            await engine.run(intake: {
                // Calls are taken until the graceful shutdown cancels this (the stop's first step).
                while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
                self.stopTaking()
                await requests.finish()
                // The handlers' answers go out with the engine's drain, which starts when this returns.
                let deadline = Task {
                    do {
                        try await clock.sleep(for: drainTimeout, tolerance: nil)
                        logger.warning("stopping: handlers still running at the drain timeout are cancelled")
                        handlers.cancel()
                    } catch {}
                }
                await handlers.value
                deadline.cancel()
            })
        } onCancel: {
            handlers.cancel()
        }
        // After a cancellation too: nothing is taken any more and no handler outlives run().
        stopTaking()
        handlers.cancel()
        await handlers.value
        if let temporaryStore { try? FileManager.default.removeItem(atPath: temporaryStore) }
    }

    /// No new calls, and no new requests for the handlers: the first step of every stop.
    private func stopTaking() {
        accepting.store(false, ordering: .relaxed)
        serving.close()
    }

    /// Sends one request per twin (one store commit for all) and waits for every outcome.
    public func callEach(_ twins: [UInt32], _ command: String, payload: [UInt8], schema: String?,
                         timeout: Duration?) async -> [(twin: UInt32, outcome: Result<RMBReply, RMBCallError>)] {
        guard !twins.isEmpty else { return [] }
        guard accepting.load(ordering: .relaxed) else {
            return twins.map { ($0, .failure(.transport("the direct peer is stopping"))) }
        }
        let timeout = timeout ?? configuration.defaultTimeout
        let ttl = RMBJSON.ttl(of: timeout)
        let calls = twins.map { (twin: $0, reference: waiters.makeReference()) }
        var submitted: [(request: ClientRequest, uid: String)] = []
        for (twin, reference) in calls {
            _ = waiters.register(reference)
            let request = ClientRequest(reference: reference, command: command, expiration: ttl, data: payload,
                                        destinations: [twin], replyTo: DirectDelivery.replyQueue, schema: schema)
            submitted.append((request, TimeOrderedUID.make()))
        }
        // A request that cannot be sent settles its call with the reason.
        requestBatcher.enqueue(submitted)
        return await waiters.collect(calls, timeout: timeout)
    }

    /// Runs the router's handlers for incoming requests, `concurrency` at once; each answer is
    /// stored (with its request, for a re-sent copy) and sent.
    private static func serve(_ requests: LaneBuffer<ServiceRequest>, router: RMBRouter, engine: PeerEngine,
                              concurrency: Int, logger: Logger) async {
        let slots = AsyncSemaphore(concurrency)
        // Answers of handlers that finish together are stored in one commit.
        let answers = SubmissionBatcher<ServiceResponse> { responses in
            let stored = await engine.queue(responses: responses)
            return .settling {
                await stored()
                return .success(())
            }
        }
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                while true {
                    let batch = await requests.takeBatch(limit: concurrency)
                    if batch.isEmpty { return }
                    for request in batch {
                        await slots.acquire()
                        group.addTask {
                            // The slot frees once the answer is on its way, not once it is
                            // durable: an fsync is no handler's work (the batcher bounds what
                            // awaits its commit, and holds the slots when that bound is reached).
                            _ = await answers.submit([await router.answer(request)], until: .placed)
                            slots.release()
                        }
                    }
                }
            }
        } onCancel: {
            // The queue's wait does not see cancellation; finishing it ends the loop.
            Task { await requests.finish() }
        }
    }

    private static func makeTemporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/rmb-direct-peer.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "cannot create a private store directory: errno \(errno)"])
        }
        return String(cString: made)
    }
}
