import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Async, `Sendable` access to one Redis server through a few multiplexed NIO connections.
///
/// Each connection is a NIO channel on one of `NIOSingletons.posixEventLoopGroup`'s event loops
/// and carries any number of concurrent calls (pipelined, each reply matched to its call), so
/// no thread ever blocks on Redis. A call goes to a connection on the caller's own event loop
/// when there is one (the peer runs Swift Concurrency on those loops: the call then stays on its
/// thread), else to the least busy. Commands sent by one task in sequence stay in order;
/// commands from concurrent tasks may interleave. Use `pipeline` when several commands must
/// reach the server back to back (e.g. MULTI/EXEC or LPUSH + LTRIM), and a dedicated connection
/// for blocking commands (BRPOP/BLMOVE/XREAD BLOCK) so they never hold up pooled calls.
///
/// Failures: a server error reply is returned as `.error`. An I/O error or timeout is thrown for
/// the calls in flight on that connection (which may or may not have run on the server); the
/// connection is replaced on its next call, so a Redis restart costs the in-flight calls only.
public final class RedisClient: Sendable {
    public struct Configuration: Sendable {
        public var endpoint: RedisEndpoint
        /// Number of multiplexed connections (at least 1), spread over the event loops.
        public var poolSize: Int
        public var connectTimeout: Duration
        /// Longest wait for a reply (`nil` = none); past it the call throws `.timeout` and its
        /// connection is closed. Blocking commands add their own timeout.
        public var commandTimeout: Duration?

        public init(endpoint: RedisEndpoint = .default, poolSize: Int = 4, connectTimeout: Duration = .seconds(2), commandTimeout: Duration? = .seconds(10)) {
            self.endpoint = endpoint
            self.poolSize = max(1, poolSize)
            self.connectTimeout = connectTimeout
            self.commandTimeout = commandTimeout
        }
    }

    public let configuration: Configuration
    private let logger: Logger
    private let connections: [ReconnectingConnection]
    private let balancer: LoadBalancer
    /// The event loops of `NIOSingletons.posixEventLoopGroup`.
    private let loops: [any EventLoop]

    /// Creates the client; connections are opened on first use (so this never blocks or fails).
    public init(configuration: Configuration, logger: Logger = Logger(label: "rmb.redis")) {
        self.configuration = configuration
        self.logger = logger
        let loops = Array(NIOSingletons.posixEventLoopGroup.makeIterator())
        self.loops = loops
        self.connections = (0..<configuration.poolSize).map { index in
            ReconnectingConnection(configuration: configuration, eventLoop: loops[index % loops.count], logger: logger)
        }
        self.balancer = LoadBalancer(loops: connections.map { ObjectIdentifier($0.eventLoop) })
    }

    /// `RedisClient(url: "redis://localhost:6379")`, also `host:port`.
    public convenience init(url: String, poolSize: Int = 4, logger: Logger = Logger(label: "rmb.redis")) throws {
        self.init(configuration: Configuration(endpoint: try RedisEndpoint(url: url), poolSize: poolSize), logger: logger)
    }

    /// Sends one command and returns its reply.
    public func send(_ arguments: [RedisArgument]) async throws -> RedisReply {
        try await onConnection { connection in try await connection.command(arguments) }
    }

    /// Variadic form: `try await redis.send("LPUSH", key, .bytes(json))`.
    public func send(_ arguments: RedisArgument...) async throws -> RedisReply {
        try await send(arguments)
    }

    /// Sends the commands in one write on one connection (no other call's command lands between
    /// them) and returns their replies in order.
    public func pipeline(_ commands: [[RedisArgument]]) async throws -> [RedisReply] {
        if commands.isEmpty { return [] }
        return try await onConnection { connection in try await connection.pipeline(commands) }
    }

    /// A separate connection for blocking commands (one per blocking loop). It shares the
    /// endpoint and timeouts and reconnects the same way; its log lines carry `label`. It lives
    /// on the caller's event loop, or else on the first pooled connection's, so a program whose
    /// tasks run off the event loops keeps its Redis I/O on one warm loop thread.
    public func makeDedicatedConnection(label: String = "dedicated") -> RedisDedicatedConnection {
        var logger = logger
        logger[metadataKey: "connection"] = "\(label)"
        let current = MultiThreadedEventLoopGroup.currentEventLoop
        let eventLoop = loops.first { loop in current.map { $0 === loop } ?? false } ?? connections[0].eventLoop
        return RedisDedicatedConnection(connection: ReconnectingConnection(configuration: configuration, eventLoop: eventLoop, logger: logger))
    }

    /// Closes the connections once their calls in flight are answered; later calls throw `.closed`.
    public func close() {
        for connection in connections { connection.close() }
    }

    private func onConnection<T: Sendable>(_ body: (RedisConnection) async throws -> T) async throws -> T {
        let index = balancer.acquire(on: MultiThreadedEventLoopGroup.currentEventLoop.map(ObjectIdentifier.init))
        defer { balancer.release(index) }
        return try await connections[index].run(body)
    }
}

/// Picks a connection on the caller's event loop if any (no thread hop), else any; among those,
/// the one with the fewest calls in flight, the first of equals: a lone caller keeps using one
/// connection (one event loop thread stays busy instead of waking each in turn), concurrent
/// callers spread, and one slow command or big pipeline does not delay the calls behind it when
/// another connection is idle.
final class LoadBalancer: Sendable {
    private let loops: [ObjectIdentifier]
    private let pending: NIOLockedValueBox<[Int]>

    init(loops: [ObjectIdentifier]) {
        self.loops = loops
        self.pending = NIOLockedValueBox(Array(repeating: 0, count: loops.count))
    }

    func acquire(on loop: ObjectIdentifier?) -> Int {
        let local = loop.flatMap { loop in loops.contains(loop) ? loop : nil }
        return pending.withLockedValue { pending in
            var best: Int?
            for index in pending.indices {
                if let local, loops[index] != local { continue }
                if best.map({ pending[index] < pending[$0] }) ?? true { best = index }
            }
            let chosen = best ?? 0
            pending[chosen] += 1
            return chosen
        }
    }

    func release(_ index: Int) {
        pending.withLockedValue { $0[index] -= 1 }
    }
}
