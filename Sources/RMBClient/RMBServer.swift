import Logging
import RMBProtocol
import RedisClient
import ServiceLifecycle

/// Serves an ``RMBRouter`` behind a running `rmb-peer`: takes requests from `msgbus.<command>`
/// for every routed command (peer.md §4.3), runs up to `concurrency` handlers at once, and
/// answers each on `msgbus.system.reply` (§4.4): the handler's payload, or an error with the
/// code of a thrown ``RMBServiceError`` (255 for any other error).
///
/// A swift-service-lifecycle `Service`: on graceful shutdown it stops taking requests and
/// answers those it has taken before `run()` returns.
///
/// ```swift
/// let server = try RMBServer(router: router, redisURL: "redis://127.0.0.1:6379")
/// let group = ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
public struct RMBServer: Service {
    public let router: RMBRouter
    public var concurrency: Int
    private let redis: RedisClient
    private let logger: Logger

    public init(router: RMBRouter, redisURL: String = "redis://127.0.0.1:6379", concurrency: Int = 64,
                logger: Logger = Logger(label: "rmb.server")) throws(RMBCallError) {
        do { redis = try RedisClient(url: redisURL, poolSize: 2, logger: logger) } catch {
            throw .transport("invalid Redis URL \(redisURL): \(error)")
        }
        self.router = router
        self.concurrency = max(concurrency, 1)
        self.logger = logger
    }

    public func run() async throws {
        let commands = router.commands
        guard !commands.isEmpty else {
            logger.warning("no handlers: nothing to serve")
            return
        }
        let connection = redis.makeDedicatedConnection(label: "rmb-server-requests")
        defer { connection.close(); redis.close() }
        var taker = QueueTaker(connection: connection, lists: commands.map(RedisKeys.command))
        var failures = 0
        await withDiscardingTaskGroup { group in
            let slots = AsyncSemaphore(concurrency)
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                let taken: QueueTaker.Taken?
                do {
                    // Never take more than can start now: the rest stays in Redis for another server.
                    await slots.waitForAny()
                    taken = try await taker.take(limit: min(slots.available, 256)).taken
                    failures = 0
                } catch is CancellationError {
                    break
                } catch {
                    failures += 1
                    if failures == 1 { logger.warning("taking requests failed; retrying", metadata: ["error": "\(error)"]) }
                    try? await Task.sleep(for: .milliseconds(min(100 * failures, 1000)))
                    continue
                }
                guard let taken else { continue }
                for bytes in taken.entries {
                    await slots.acquire()
                    group.addTask {
                        await answer(bytes)
                        slots.release()
                    }
                }
            }
        }
    }

    /// Runs the handler of one request and pushes its answer.
    private func answer(_ bytes: [UInt8]) async {
        let incoming: ServiceRequest
        do { incoming = try ServiceRequest.parse(bytes) } catch {
            logger.warning("dropping an unreadable request", metadata: ["error": "\(error)"])
            return
        }
        let response = await router.answer(incoming)
        do {
            let reply = try await redis.send(["LPUSH", .string(RedisKeys.reply), .bytes(response.jsonBytes())])
            if let error = reply.errorMessage { throw RedisError.server(error) }
        } catch {
            logger.error("cannot push an answer; the caller will time out", metadata: ["cmd": "\(incoming.command)", "error": "\(error)"])
        }
    }
}
