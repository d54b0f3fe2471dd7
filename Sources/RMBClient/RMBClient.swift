import Foundation
import Logging
import RMBProtocol
import RedisClient

/// Calls services on other twins through a running `rmb-peer`, over its Redis JSON API
/// (peer.md §4): the Swift counterpart of the Go SDK's `rmb.NewRMBClient`.
///
/// One client serves any number of concurrent calls: every request names the client's own
/// reply queue, and one reader (started by the first waiting call, stopped when none waits)
/// hands each reply to its call by reference. Requests of concurrent calls leave together (one
/// LPUSH per batch, ``SubmissionBatcher``).
///
/// ```swift
/// struct Version: Decodable { var zinit: String; var zos: String }
///
/// let client = try RMBClient(redisURL: "redis://127.0.0.1:6379")
/// let version: Version = try await client.call(twin: 42, "zos.system.version", timeout: .seconds(30))
/// let all = try await client.call(twins: [42, 43], "zos.system.version", as: Version.self)
/// ```
public final class RMBClient: RMBCaller {
    public struct Configuration: Sendable {
        /// The Redis of the local rmb-peer.
        public var redisURL: String = "redis://127.0.0.1:6379"
        /// This client's reply queue; unique by default. Two clients must not share one.
        public var replyQueue: String = "msgbus.client." + UUID().uuidString.lowercased()
        /// Timeout of a call that gives none; also the request's ttl.
        public var defaultTimeout: Duration = .seconds(60)
        /// Redis connections for pushing requests (the reader has its own).
        public var connections: Int = 2
        public init() {}
    }

    public let configuration: Configuration
    private let redis: RedisClient
    private let waiters: ReplyWaiters
    /// Requests with their calls' references: a failed LPUSH settles those calls.
    private let batcher: SubmissionBatcher<(reference: String, request: RedisArgument)>
    private let clock: any Clock<Duration>
    private let logger: Logger

    /// Connects lazily: an unreachable Redis fails the first call with ``RMBCallError/transport(_:)``.
    public init(configuration: Configuration = .init(), clock: any Clock<Duration> = ContinuousClock(),
                logger: Logger = Logger(label: "rmb.client")) throws(RMBCallError) {
        do { redis = try RedisClient(url: configuration.redisURL, poolSize: max(configuration.connections, 1), logger: logger) } catch {
            throw .transport("invalid Redis URL \(configuration.redisURL): \(error)")
        }
        let waiters = ReplyWaiters(clock: clock)
        batcher = SubmissionBatcher(sendSettled: { [redis] requests in
            let failure: RMBCallError
            do {
                let reply = try await redis.send(["LPUSH", .string(RedisKeys.local)] + requests.map(\.request))
                guard let error = reply.errorMessage else { return .success(()) }
                failure = .transport("Redis: \(RedisError.server(error))")
            } catch {
                failure = .transport("Redis: \(error)")
            }
            for (reference, _) in requests { waiters.settle(reference, .failure(failure)) }
            return .failure(failure)
        })
        self.configuration = configuration
        self.waiters = waiters
        self.clock = clock
        self.logger = logger
    }

    public convenience init(redisURL: String) throws(RMBCallError) {
        var configuration = Configuration()
        configuration.redisURL = redisURL
        try self.init(configuration: configuration)
    }

    deinit { redis.close() }

    /// Closes the Redis connections; calls made afterwards fail with a transport error.
    public func close() { redis.close() }

    // MARK: Engine

    /// Sends one request per twin in one LPUSH (with other calls' requests) and waits for every outcome.
    public func callEach(_ twins: [UInt32], _ command: String, payload: [UInt8], schema: String?,
                         timeout: Duration?) async -> [(twin: UInt32, outcome: Result<RMBReply, RMBCallError>)] {
        guard !twins.isEmpty else { return [] }
        let timeout = timeout ?? configuration.defaultTimeout
        let ttl = RMBJSON.ttl(of: timeout)
        let calls = twins.map { ($0, waiters.makeReference()) }
        var startReader = false
        var requests: [(reference: String, request: RedisArgument)] = []
        for (twin, reference) in calls {
            startReader = waiters.register(reference) || startReader
            let request = ClientRequest(reference: reference, command: command, expiration: ttl, data: payload,
                                        destinations: [twin], replyTo: configuration.replyQueue, schema: schema)
            requests.append((reference, .bytes(request.jsonBytes())))
        }
        if startReader { Task { await self.readReplies() } }
        // A failed push settles these calls with its error.
        batcher.enqueue(requests)
        return await waiters.collect(calls, timeout: timeout)
    }

    /// Takes this client's reply queue while calls wait, and settles each call by its reference.
    private func readReplies() async {
        let connection = redis.makeDedicatedConnection(label: "rmb-client-replies")
        defer { connection.close() }
        var taker = QueueTaker(connection: connection, lists: [configuration.replyQueue])
        var failures = 0
        while !waiters.readerMayStop() {
            do {
                guard let taken = try await taker.take(limit: 256).taken else { continue }
                failures = 0
                for bytes in taken.entries { settle(bytes) }
            } catch is CancellationError {
                return
            } catch {
                failures += 1
                if failures == 1 { logger.warning("reading replies failed; retrying", metadata: ["error": "\(error)"]) }
                try? await clock.sleep(for: .milliseconds(min(100 * failures, 1000)))
            }
        }
    }

    private func settle(_ bytes: [UInt8]) {
        guard let response = try? ClientResponse.parse(bytes), let reference = response.reference else {
            logger.warning("dropping an unreadable reply", metadata: ["reply": "\(String(decoding: bytes.prefix(200), as: UTF8.self))"])
            return
        }
        let outcome = ReplyWaiters.outcome(of: response)
        if !waiters.settle(reference, outcome) {
            logger.debug("dropping a reply no call waits for", metadata: ["ref": "\(reference)"])
        }
    }
}
