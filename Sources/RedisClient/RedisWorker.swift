import Dispatch
import Foundation
import Logging

/// Owns one `RedisConnection` and the serial queue that is the only place it is ever used, so
/// blocking hiredis calls run on Dispatch threads and never on Swift's cooperative pool. A broken
/// connection is dropped after the failed call (whose error is surfaced) and a new one is made on
/// the next call.
final class RedisWorker: @unchecked Sendable {
    private let configuration: RedisClient.Configuration
    private let logger: Logger
    private let queue: DispatchQueue
    /// Touched only on `queue`.
    private var connection: RedisConnection?
    private var hadConnection = false
    /// Guards `closed`.
    private let stateLock = NSLock()
    private var closed = false

    init(configuration: RedisClient.Configuration, logger: Logger, label: String) {
        self.configuration = configuration
        self.logger = logger
        self.queue = DispatchQueue(label: label)
    }

    /// Runs `body` with a live connection on the worker's queue. With a `cancellation`, the call
    /// can be interrupted from another task (used for long blocking commands).
    func run<T: Sendable>(
        cancellation: CallCancellation? = nil,
        _ body: @escaping @Sendable (RedisConnection) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            queue.async {
                continuation.resume(with: Result { try self.perform(cancellation: cancellation, body) })
            }
        }
    }

    /// Closes the connection once queued calls finished; later calls throw `.closed`.
    func close() {
        stateLock.withLock { closed = true }
        queue.async {
            self.connection?.close()
            self.connection = nil
        }
    }

    private func perform<T>(cancellation: CallCancellation?, _ body: (RedisConnection) throws -> T) throws -> T {
        if stateLock.withLock({ closed }) { throw RedisError.closed }
        let connection = try connected()
        if let cancellation, !cancellation.start(connection.interruptHandle) { throw CancellationError() }
        defer { cancellation?.finish() }
        do {
            return try body(connection)
        } catch {
            let cancelled = cancellation?.isCancelled == true
            if connection.isBroken {
                // An interrupted wait is expected (cancellation, shutdown), not worth a warning.
                logger.log(
                    level: cancelled ? .debug : .warning, "Redis connection broken, reconnecting on next call",
                    metadata: ["redis": "\(configuration.endpoint)", "error": "\(error)"])
                connection.close()
                self.connection = nil
            }
            if cancelled { throw CancellationError() }
            throw error
        }
    }

    private func connected() throws -> RedisConnection {
        if let connection, !connection.isBroken {
            // A Redis restart closes every idle connection: each would otherwise fail its next
            // call (which may be a write the caller cannot safely repeat).
            guard connection.serverClosedIdleConnection else { return connection }
            logger.info("Redis closed an idle connection; reconnecting", metadata: ["redis": "\(configuration.endpoint)"])
            connection.close()
        }
        connection = nil
        let fresh = try RedisConnection(
            endpoint: configuration.endpoint,
            connectTimeout: configuration.connectTimeout,
            commandTimeout: configuration.commandTimeout)
        if hadConnection { logger.info("Redis reconnected", metadata: ["redis": "\(configuration.endpoint)"]) }
        hadConnection = true
        connection = fresh
        return fresh
    }
}

/// Links one async call to the connection running it, so task cancellation can interrupt a
/// blocked socket read, whether it arrives before, during or after the call.
final class CallCancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    private var running: RedisInterruptHandle?

    var isCancelled: Bool { lock.withLock { cancelled } }

    /// Returns `false` if already cancelled (the call must not start).
    func start(_ handle: RedisInterruptHandle) -> Bool {
        lock.withLock {
            if cancelled { return false }
            running = handle
            return true
        }
    }

    func finish() { lock.withLock { running = nil } }

    func cancel() {
        let handle = lock.withLock { () -> RedisInterruptHandle? in
            cancelled = true
            return running
        }
        handle?.interrupt()
    }
}
