import TwinDirectory
import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import RMBProtocol
import RedisClient
import ServiceLifecycle
import TLSSupport

/// One relay instance: the HTTP/WebSocket listener plus its background services (federation
/// worker, presence heartbeat, wake listener). Run it inside a `ServiceGroup` (the executable
/// does, with SIGTERM/SIGINT as graceful shutdown signals); cancelling `run()` stops it at once.
public final class RelayServer: Service, Sendable {
    public let configuration: RelayConfiguration
    public let metrics: RelayMetrics
    let core: RelayCore
    private let http: HTTPClient
    private let listening = ListeningPort()

    /// - Parameter clock: what the relay's timers run on (liveness sweeps, presence, federation
    ///   retries and circuit breakers, back-offs, the shutdown bound); a test passes a manual one.
    ///   Connection deadlines (handshake, request, idle) are the event loop's own timers.
    public init(configuration: RelayConfiguration, twins: any TwinDirectory, logger: Logger = Logger(label: "rmb.relay"),
                clock: any Clock<Duration> = ContinuousClock()) throws {
        self.configuration = configuration
        let redis = try RedisClient(url: configuration.redisURL, poolSize: 8, logger: logger)
        metrics = RelayMetrics()
        core = RelayCore(configuration: configuration, twins: twins, redis: redis, metrics: metrics, clock: clock, logger: logger)
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.timeout = .init(connect: .seconds(2), read: .seconds(3))
        httpConfiguration.tlsConfiguration = ClientTLS.configuration()
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
    }

    /// The bound TCP port, once listening (useful with `port: 0`). Throws `CancellationError`
    /// when the waiting task is cancelled, and ``RelayServerError/notListening`` when `run()`
    /// ended without listening (e.g. the port was taken), so a caller never waits for ever.
    public func boundPort() async throws -> Int {
        try await listening.port()
    }

    public func run() async throws {
        let core = self.core
        let routes = HTTPRoutes(core: core)
        let maxFrameSize = configuration.maxFrameSize
        let tls = configuration.tls
        let limits = configuration.limits
        let serverBuilder = HTTPServerBuilder { responder in
            RelayChannel(
                responder: responder,
                maxFrameSize: maxFrameSize,
                tls: tls,
                limits: limits,
                admission: core.admission,
                countRefusal: { refusal in
                    core.metrics.connectionRefused(refusal)
                    core.logThrottle.log("refused." + refusal.rawValue, level: .warning, "connection refused at accept: cap reached",
                                         metadata: ["cap": "\(refusal.rawValue)"], to: core.logger)
                },
                countTimeout: { stage in
                    core.metrics.connectionTimedOut(stage)
                    core.logThrottle.log("timeout." + stage.rawValue, level: .info, "connection closed at its deadline",
                                         metadata: ["stage": "\(stage.rawValue)"], to: core.logger)
                },
                countBadRequest: { kind in
                    core.metrics.badInput("http")
                    core.logThrottle.log("bad-input.http", level: .info, "malformed HTTP request: answered and closed",
                                         metadata: ["kind": "\(kind)"], to: core.logger)
                },
                authorize: { head in
                    // Capacity is checked before the upgrade, not after it (known-gaps §22).
                    if core.registry.isFull { return .failure(AuthRejection(status: .serviceUnavailable, text: "max number of users")) }
                    return await core.authenticator.authenticate(rawQuery: rawQuery(ofTarget: head.uri))
                },
                makeSession: { channel, session in SessionConnection(core: core, channel: channel, id: session) })
        }
        let sender = FederationSender(http: http, ranker: RelayRanker(period: configuration.rankerPeriod, stopwatch: core.stopwatch),
                                      breaker: CircuitBreaker(baseCooldown: configuration.breakerCooldown,
                                                               maxCooldown: configuration.breakerMaxCooldown, stopwatch: core.stopwatch),
                                      clock: core.clock, stopwatch: core.stopwatch, metrics: metrics, logger: core.logger)
        let services: [any Service] = [
            FederationWorker(core: core, sender: sender, consumer: "relay-" + core.store.processID,
                             concurrency: configuration.federationConcurrency),
            PresenceService(core: core),
            WakeListener(core: core),
            SessionLiveness(core: core),
        ]
        let app = Application(
            router: routes.makeRouter(),
            server: serverBuilder,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            services: services,
            onServerRunning: { [weak self] channel in
                guard let self, let bound = channel.localAddress?.port else { return }
                self.listening.bound(bound)
                core.logger.info("relay listening", metadata: [
                    "port": "\(bound)", "tls": "\(tls != nil)", "domains": "\(core.configuration.domains)",
                ])
            },
            logger: core.logger)
        // Graceful shutdown (SIGTERM/SIGINT in the executable's service group): close every
        // session; frames still queued for a socket go to the session's stream (nothing
        // accepted is lost), and only then is Redis closed. Cancellation ends the same way.
        defer { listening.ended() }
        do {
            try await withGracefulShutdownHandler {
                try await app.run()
            } onGracefulShutdown: {
                core.logger.info("shutting down: closing sessions", metadata: ["sessions": "\(core.registry.count)"])
                core.connections.closeAll()
            }
        } catch {
            await shutdown()
            throw error
        }
        await shutdown()
    }

    /// WebSocket connections have no task the server would wait for: close them all here and
    /// wait for their cleanup (stream fallback of unsent frames, presence release) before
    /// Redis goes away.
    private func shutdown() async {
        core.connections.closeAll()
        let limit = core.configuration.shutdownTimeout * 0.6
        if !(await core.connections.waitUntilEmpty(limit: limit, stopwatch: core.stopwatch)) {
            core.logger.error("shutdown: connections still cleaning up", metadata: ["after": "\(limit)", "connections": "\(core.connections.count)"])
        }
        try? await http.shutdown()
        core.redis.close()
    }
}

public enum RelayServerError: Error, CustomStringConvertible {
    /// `run()` ended before the listener was bound.
    case notListening

    public var description: String {
        switch self {
        case .notListening: "the relay stopped without listening"
        }
    }
}

/// The listener's port for those who wait for it: set once bound; a wait ends with the port,
/// at cancellation of the waiting task, or when the server's run ends without one.
final class ListeningPort: Sendable {
    private struct State {
        var port: Int?
        var ended = false
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Int?, Never>] = [:]
    }

    private let state = Locked(State())

    func port() async throws -> Int {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        let port = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int?, Never>) in
                let now: Int?? = state.withLock { state in
                    if let port = state.port { return .some(port) }
                    if state.ended || Task.isCancelled { return .some(nil) }
                    state.waiters[id] = continuation
                    return .none
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: nil)
        }
        if let port { return port }
        try Task.checkCancellation()
        throw RelayServerError.notListening
    }

    func bound(_ port: Int) {
        let waiters = state.withLock { state in
            state.port = port
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for waiter in waiters { waiter.resume(returning: port) }
    }

    func ended() {
        let waiters = state.withLock { state in
            state.ended = true
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for waiter in waiters { waiter.resume(returning: nil) }
    }
}
