import Foundation
import Logging

/// Async, `Sendable` access to one Redis server through a small pool of hiredis connections.
///
/// Each pooled connection lives on its own serial Dispatch queue, so the blocking hiredis calls
/// never occupy Swift's cooperative threads; calls go to the least busy connection. Commands
/// sent by one task in sequence stay in order; commands from concurrent tasks may interleave.
/// Use `pipeline` when several commands must reach the server back to back (e.g. MULTI/EXEC or
/// LPUSH + LTRIM), and a dedicated connection for blocking commands (BRPOP/BLMOVE/XREAD BLOCK)
/// so they never hold a pooled connection.
///
/// Failures: a server error reply is returned as `.error`. An I/O error or timeout is thrown for
/// the call that hit it (which may or may not have run on the server); that connection is
/// replaced transparently on its next call, so a Redis restart costs the in-flight calls only.
public final class RedisClient: Sendable {
    public struct Configuration: Sendable {
        public var endpoint: RedisEndpoint
        /// Number of pooled connections (at least 1).
        public var poolSize: Int
        public var connectTimeout: Duration
        /// Socket timeout per command (`nil` = none). Blocking commands add their own timeout.
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
    private let workers: [RedisWorker]
    private let balancer: LoadBalancer

    /// Creates the client; connections are opened on first use (so this never blocks or fails).
    public init(configuration: Configuration, logger: Logger = Logger(label: "rmb.redis")) {
        self.configuration = configuration
        self.logger = logger
        self.workers = (0..<configuration.poolSize).map { index in
            RedisWorker(configuration: configuration, logger: logger, label: "rmb.redis.pool.\(index)")
        }
        self.balancer = LoadBalancer(count: configuration.poolSize)
    }

    /// `RedisClient(url: "redis://localhost:6379")`, also `host:port`.
    public convenience init(url: String, poolSize: Int = 4, logger: Logger = Logger(label: "rmb.redis")) throws {
        self.init(configuration: Configuration(endpoint: try RedisEndpoint(url: url), poolSize: poolSize), logger: logger)
    }

    /// Sends one command and returns its reply.
    public func send(_ arguments: [RedisArgument]) async throws -> RedisReply {
        try await onWorker { connection in try connection.command(arguments) }
    }

    /// Variadic form: `try await redis.send("LPUSH", key, .bytes(json))`.
    public func send(_ arguments: RedisArgument...) async throws -> RedisReply {
        try await send(arguments)
    }

    /// Sends the commands in one round trip on one connection and returns their replies in order.
    public func pipeline(_ commands: [[RedisArgument]]) async throws -> [RedisReply] {
        if commands.isEmpty { return [] }
        return try await onWorker { connection in try connection.pipeline(commands) }
    }

    /// A connection outside the pool for blocking commands (one per blocking loop). It shares the
    /// endpoint and timeouts and reconnects the same way.
    public func makeDedicatedConnection(label: String = "dedicated") -> RedisDedicatedConnection {
        RedisDedicatedConnection(
            worker: RedisWorker(configuration: configuration, logger: logger, label: "rmb.redis.\(label)"))
    }

    /// Closes the pooled connections after their queued calls; later calls throw `.closed`.
    public func close() {
        for worker in workers { worker.close() }
    }

    private func onWorker<T: Sendable>(_ body: @escaping @Sendable (RedisConnection) throws -> T) async throws -> T {
        let index = balancer.acquire()
        defer { balancer.release(index) }
        return try await workers[index].run(body)
    }
}

/// Picks the pooled connection with the fewest calls in flight (rotating among ties), so one
/// slow command does not delay the calls behind it when another connection is idle.
final class LoadBalancer: @unchecked Sendable {
    private let lock = NSLock()
    private var pending: [Int]
    private var next = 0

    init(count: Int) { pending = Array(repeating: 0, count: count) }

    func acquire() -> Int {
        lock.withLock {
            var best = next % pending.count
            for offset in 0..<pending.count {
                let index = (next + offset) % pending.count
                if pending[index] < pending[best] { best = index }
            }
            next = (best + 1) % pending.count
            pending[best] += 1
            return best
        }
    }

    func release(_ index: Int) {
        lock.withLock { pending[index] -= 1 }
    }
}
