import Logging
import NIOConcurrencyHelpers
import NIOCore

/// One logical Redis connection bound to an event loop: it opens a `RedisConnection` on first
/// use and replaces it after a failure. The call that hit the failure gets the error (it may or
/// may not have run on the server); the next call reconnects. A connection the server closed
/// while idle (Redis restarted, `timeout`, `CLIENT KILL`) is replaced before the next call, which
/// therefore does not fail. Concurrent callers share the connection and one connect attempt.
final class ReconnectingConnection: Sendable {
    private enum State {
        case idle
        case connecting(Task<RedisConnection, any Error>)
        case connected(RedisConnection)
        case closed
    }

    private struct Box {
        var state = State.idle
        var hadConnection = false
    }

    let eventLoop: any EventLoop
    private let configuration: RedisClient.Configuration
    private let logger: Logger
    private let box = NIOLockedValueBox(Box())

    init(configuration: RedisClient.Configuration, eventLoop: any EventLoop, logger: Logger) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
    }

    deinit { close() }

    /// Runs `body` on a live connection. A call refused before it was sent (the connection had
    /// just ended) is retried once on a fresh connection; any other failure is thrown and the
    /// connection dropped. With a `cancellation`, cancelling ends the call by closing its
    /// connection and throws `CancellationError`.
    func run<T: Sendable>(
        cancellation: CallCancellation? = nil,
        _ body: (RedisConnection) async throws -> T
    ) async throws -> T {
        var refused = false
        while true {
            let connection = try await connected()
            if let cancellation, !cancellation.start(connection) { throw CancellationError() }
            defer { cancellation?.finish() }
            do {
                return try await body(connection)
            } catch is RedisNotSent {
                drop(connection, after: nil)
                if refused { throw RedisError.closed }
                refused = true
            } catch RedisError.invalidArgument(let text) {
                throw RedisError.invalidArgument(text)   // nothing was sent; the connection is fine
            } catch {
                let cancelled = cancellation?.isCancelled == true
                drop(connection, after: error, quietly: cancelled)
                if cancelled { throw CancellationError() }
                throw error
            }
        }
    }

    /// Closes the connection once its calls in flight are answered; later calls throw `.closed`.
    func close() {
        let connection = box.withLockedValue { box -> RedisConnection? in
            defer { box.state = .closed }
            if case let .connected(connection) = box.state { return connection }
            return nil
        }
        connection?.close(gracefully: true)
    }

    // MARK: Internals

    private enum Next {
        case use(RedisConnection)
        case wait(Task<RedisConnection, any Error>)
        case refuse
    }

    private func connected() async throws -> RedisConnection {
        var serverClosedIdle = false
        let next = box.withLockedValue { box -> Next in
            switch box.state {
            case .closed:
                return .refuse
            case let .connected(connection) where connection.isUsable:
                return .use(connection)
            case let .connecting(task):
                return .wait(task)
            case .connected:
                serverClosedIdle = true
                fallthrough
            case .idle:
                let task = Task { try await self.open() }
                box.state = .connecting(task)
                return .wait(task)
            }
        }
        if serverClosedIdle {
            logger.info("Redis closed an idle connection; reconnecting", metadata: ["redis": "\(configuration.endpoint)"])
        }
        switch next {
        case let .use(connection): return connection
        case let .wait(task): return try await task.value
        case .refuse: throw RedisError.closed
        }
    }

    private func open() async throws -> RedisConnection {
        let connection: RedisConnection
        do {
            connection = try await RedisConnection.connect(
                endpoint: configuration.endpoint, connectTimeout: configuration.connectTimeout,
                commandTimeout: configuration.commandTimeout, on: eventLoop)
        } catch {
            box.withLockedValue { box in
                if case .connecting = box.state { box.state = .idle }
            }
            throw error
        }
        let accepted: Bool?   // nil: closed meanwhile; else whether this replaces an earlier one
        accepted = box.withLockedValue { box in
            guard case .connecting = box.state else { return nil }
            box.state = .connected(connection)
            defer { box.hadConnection = true }
            return box.hadConnection
        }
        guard let reconnected = accepted else {
            connection.close()
            throw RedisError.closed
        }
        if reconnected { logger.info("Redis reconnected", metadata: ["redis": "\(configuration.endpoint)"]) }
        return connection
    }

    /// Forgets `connection` (if still current) and closes it; logs a failure once.
    private func drop(_ connection: RedisConnection, after error: (any Error)?, quietly: Bool = false) {
        let wasCurrent = box.withLockedValue { box -> Bool in
            guard case let .connected(current) = box.state, current === connection else { return false }
            box.state = .idle
            return true
        }
        connection.close()
        guard wasCurrent, let error else { return }
        // An interrupted wait is expected (cancellation), not worth a warning.
        logger.log(
            level: quietly ? .debug : .warning, "Redis connection broken, reconnecting on next call",
            metadata: ["redis": "\(configuration.endpoint)", "error": "\(error)"])
    }
}
