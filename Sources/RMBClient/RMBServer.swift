import Foundation
import Logging
import ProcessLifecycle
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
/// An answer Redis does not take (unreachable, restarting, an error reply) is pushed again, with
/// growing pauses, for as long as its request lives (`now` + `exp`, at least 5 s): a Redis
/// restart delays answers instead of losing them. The handler's slot stays taken meanwhile, so
/// a server that cannot answer stops taking more requests.
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
    /// Paces the retries of answers and of taking requests.
    private let clock: any Clock<Duration>
    private let stopwatch: Stopwatch

    public init(router: RMBRouter, redisURL: String = "redis://127.0.0.1:6379", concurrency: Int = 64,
                logger: Logger = Logger(label: "rmb.server")) throws(RMBCallError) {
        try self.init(router: router, redisURL: redisURL, concurrency: concurrency, logger: logger, clock: ContinuousClock())
    }

    package init(router: RMBRouter, redisURL: String, concurrency: Int, logger: Logger, clock: any Clock<Duration>) throws(RMBCallError) {
        do { redis = try RedisClient(url: redisURL, poolSize: 2, logger: logger) } catch {
            throw .transport("invalid Redis URL \(redisURL): \(error)")
        }
        self.router = router
        self.concurrency = max(concurrency, 1)
        self.logger = logger
        self.clock = clock
        stopwatch = Stopwatch(clock)
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
                    try? await clock.sleep(for: .milliseconds(min(100 * failures, 1000)), tolerance: nil)
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
        await push(response, for: incoming, window: Self.retryWindow(for: incoming, at: Date()))
    }

    /// How long an answer to `request` is worth retrying: until the request expires by its
    /// own stamp (`now` + `exp`, peer.md §4.3), at least 5 s (the caller's clock may be ahead
    /// of ours) and at most a day.
    package static func retryWindow(for request: ServiceRequest, at date: Date) -> Duration {
        let expires = Double(request.now) + Double(request.expiration)
        let remaining = expires - date.timeIntervalSince1970
        return .seconds(Int64(min(max(remaining, 5), 86_400)))
    }

    /// LPUSHes the answer, again with pauses from 100 ms doubling to 2 s while Redis does not
    /// take it, until `window` has passed; cancellation ends the retries.
    private func push(_ response: ServiceResponse, for request: ServiceRequest, window: Duration) async {
        let payload = response.jsonBytes()
        let giveUp = stopwatch.elapsed() + window
        var pause = Duration.milliseconds(100)
        var attempts = 0
        while true {
            attempts += 1
            let failure: any Error
            do {
                let reply = try await redis.send(["LPUSH", .string(RedisKeys.reply), .bytes(payload)])
                if let error = reply.errorMessage { throw RedisError.server(error) }
                if attempts > 1 {
                    logger.info("answer pushed after retrying", metadata: ["cmd": "\(request.command)", "attempts": "\(attempts)"])
                }
                return
            } catch {
                failure = error
            }
            let metadata: Logger.Metadata = ["cmd": "\(request.command)", "ref": "\(request.reference)", "error": "\(failure)"]
            guard stopwatch.elapsed() + pause < giveUp else {
                logger.error("dropping an answer: Redis did not take it while its request lived; the caller will time out", metadata: metadata)
                return
            }
            if attempts == 1 { logger.warning("cannot push an answer; retrying while its request lives", metadata: metadata) }
            do { try await clock.sleep(for: pause, tolerance: nil) } catch {
                logger.error("dropping an answer: cancelled before Redis took it", metadata: metadata)
                return
            }
            pause = min(pause * 2, .seconds(2))
        }
    }
}
