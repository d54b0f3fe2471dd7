import Foundation
import LocalProcesses
import Logging
import RMBCalls
import RMBDirectPeer
import RMBIdentity
import RMBRelay
import Synchronization
import TwinDirectory

/// An RMB network in one process, for testing handlers and calls the way they run in production
/// — signed, end-to-end encrypted, through a relay — without starting or wiring anything by hand:
/// a relay on a loopback port the kernel picks (its queues in a throwaway `redis-server`, the one process the
/// kit starts; Debian: `apt install redis-server`), an in-memory twin directory, and twins with
/// fresh keys, each a running ``RMBDirectPeer``. Like HummingbirdTesting, everything lives as
/// long as the closure given to ``run(e2e:logger:_:)``.
///
/// ```swift
/// import RMBClient
/// import RMBTesting
/// import Testing
///
/// @Test func addsNumbers() async throws {
///     var router = RMBRouter()
///     router.handle("calculator.add") { (input: [Int], _) in input.reduce(0, +) }
///     try await RMBTestNetwork.run { network in
///         let service = try await network.addTwin(router: router)
///         let caller = try await network.addTwin()
///         let sum: Int = try await caller.call(twin: service.id, "calculator.add", [40, 2])
///         #expect(sum == 42)
///     }
/// }
/// ```
public final class RMBTestNetwork: Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case relayDidNotStart(String)
        case twinNotReady(UInt32)

        public var description: String {
            switch self {
            case .relayDidNotStart(let reason): "the test relay did not start: \(reason)"
            case .twinNotReady(let id): "twin \(id) did not reach the relay within 30 s"
            }
        }
    }

    /// The twins' directory; change it to test lookups (a removed twin is unknown at once).
    public let directory: RMBTestDirectory
    /// The relay's address as twins list it.
    public let relay: RelayAddress
    private let e2e: Bool
    private let logger: Logger
    private let nextID = Atomic<UInt32>(1)
    private let tasks: TaskSpawner

    private init(directory: RMBTestDirectory, relay: RelayAddress, e2e: Bool, logger: Logger, tasks: TaskSpawner) {
        self.directory = directory; self.relay = relay; self.e2e = e2e; self.logger = logger; self.tasks = tasks
    }

    /// Starts the relay, runs `body` with the network, then stops every peer and the relay.
    /// - Parameter e2e: whether twins publish e2e keys (payloads encrypted end to end).
    /// - Parameter logger: where the relay and the peers log; by default nowhere, or standard
    ///   error at the level named by the environment's `RMB_TESTING_LOG` (e.g. `debug`).
    public static func run<T: Sendable>(e2e: Bool = true, logger: Logger = defaultLogger,
                                        _ body: (RMBTestNetwork) async throws -> T) async throws -> T {
        let redis = try RedisServer.start()
        defer { redis.stop() }
        let directory = RMBTestDirectory()
        // Port 0: the kernel picks the port as the relay binds (a port probed beforehand could be
        // taken by another process in between). The domain is the host alone, which serves every
        // relay entry on 127.0.0.1 whatever its port; twins list the bound port.
        let server = try RelayServer(configuration: RelayConfiguration(domains: ["127.0.0.1"], redisURL: redis.url,
                                                                       host: "127.0.0.1", port: 0),
                                     twins: directory, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let spawner = TaskSpawner()
            group.addTask { await spawner.run() }
            defer { group.cancelAll() }
            let port = try await Self.waitUntilListening(server)
            let relay = try RelayAddress(host: "127.0.0.1", port: port, isSecure: false)
            let network = RMBTestNetwork(directory: directory, relay: relay, e2e: e2e, logger: logger, tasks: spawner)
            return try await body(network)
        }
    }

    /// Silent unless `RMB_TESTING_LOG` names a level.
    public static var defaultLogger: Logger {
        guard let name = ProcessInfo.processInfo.environment["RMB_TESTING_LOG"], let level = Logger.Level(rawValue: name) else {
            return Logger(label: "rmb.testing", factory: { _ in SwiftLogNoOpLogHandler() })
        }
        var logger = Logger(label: "rmb.testing", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = level
        return logger
    }

    /// A new twin with fresh sr25519 keys on the relay, its direct peer running and connected.
    public func addTwin(router: RMBRouter = RMBRouter(), store: RMBDirectPeer.StoreLocation = .none) async throws -> RMBTestTwin {
        let id = nextID.add(1, ordering: .relaxed).oldValue
        let seed = (0..<32).map { _ in UInt8.random(in: 0...255) }
        let identity = try Identity(secret: try MiniSecret(bytes: seed), keyType: .sr25519)
        directory.upsert(Twin(id: id, account: identity.account, relays: [relay], e2ePublicKey: e2e ? identity.e2ePublicKey : nil))
        var configuration = RMBDirectPeer.Configuration(identity: identity)
        configuration.store = store
        let peer = try await RMBDirectPeer(configuration: configuration, directory: directory, router: router, logger: logger)
        tasks.spawn { try? await peer.run() }
        // Ready once it reaches itself through the relay (its own version plugin answers).
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if (try? await peer.call(twin: id, "rmb.version", as: String.self, timeout: .seconds(1))) != nil {
                return RMBTestTwin(id: id, identity: identity, peer: peer)
            }
        }
        throw Failure.twinNotReady(id)
    }

    /// The port the relay listens on, once it does; throws when it stopped without listening or
    /// after 10 s.
    private static func waitUntilListening(_ server: RelayServer) async throws -> UInt16 {
        do {
            let port = try await withDeadline(.seconds(10)) { try await server.boundPort() }
            guard let bound = UInt16(exactly: port) else { throw Failure.relayDidNotStart("bound to port \(port)") }
            return bound
        } catch let error as RelayServerError {
            throw Failure.relayDidNotStart(error.description)
        } catch is DeadlineExceeded {
            throw Failure.relayDidNotStart("no port bound within 10 s")
        }
    }
}

/// Runs the tasks it is given as children of one task (the network's), so they end with it.
final class TaskSpawner: Sendable {
    private let stream: AsyncStream<@Sendable () async -> Void>
    private let continuation: AsyncStream<@Sendable () async -> Void>.Continuation

    init() { (stream, continuation) = AsyncStream.makeStream() }

    func spawn(_ work: @escaping @Sendable () async -> Void) { continuation.yield(work) }

    func run() async {
        await withDiscardingTaskGroup { group in
            for await work in stream { group.addTask { await work() } }
        }
    }
}

/// A twin of an ``RMBTestNetwork``: its id and keys, and its running direct peer (calls made on
/// the twin go through it).
public struct RMBTestTwin: RMBCaller {
    public let id: UInt32
    public let identity: Identity
    public let peer: RMBDirectPeer

    public func callEach(_ twins: [UInt32], _ command: String, payload: [UInt8], schema: String?,
                         timeout: Duration?) async -> [(twin: UInt32, outcome: Result<RMBReply, RMBCallError>)] {
        await peer.callEach(twins, command, payload: payload, schema: schema, timeout: timeout)
    }
}
