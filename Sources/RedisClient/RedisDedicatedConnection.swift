/// A connection of its own (a separate TCP connection) for a single loop of blocking commands
/// (the peer's `BRPOP`/`BLMOVE` intake, a relay's `XREAD BLOCK` worker), so a call that waits
/// for seconds never holds up pooled calls. It reconnects like the pool.
public final class RedisDedicatedConnection: Sendable {
    private let connection: ReconnectingConnection

    init(connection: ReconnectingConnection) { self.connection = connection }

    /// A normal command on this connection (uses the command timeout).
    public func send(_ arguments: [RedisArgument]) async throws -> RedisReply {
        try await connection.run { connection in try await connection.command(arguments) }
    }

    public func send(_ arguments: RedisArgument...) async throws -> RedisReply {
        try await send(arguments)
    }

    public func pipeline(_ commands: [[RedisArgument]]) async throws -> [RedisReply] {
        if commands.isEmpty { return [] }
        return try await connection.run { connection in try await connection.pipeline(commands) }
    }

    /// A blocking command whose server-side timeout is `blockTimeout` (`nil` for Redis' `0`,
    /// block forever), e.g. `blocking(["BRPOP", "q", 5], blockTimeout: .seconds(5))`; a timeout
    /// returns `.null`. Cancelling the task interrupts the wait: the call throws
    /// `CancellationError` and the connection is closed (any other call on it fails too), to be
    /// replaced on the next call.
    public func blocking(_ arguments: [RedisArgument], blockTimeout: Duration?) async throws -> RedisReply {
        try await cancellable { connection in try await connection.blockingCommand(arguments, blockTimeout: blockTimeout) }
    }

    /// `commands` in one write, one of them blocking (`blockTimeout` as in `blocking`): Redis runs
    /// the commands after it once it returns, so a loop can send its last round's clean-up, wait
    /// for the next element and take whatever else is waiting, all in one round trip. The
    /// replies come back together, in order; cancelling works as in `blocking`.
    public func blocking(pipeline commands: [[RedisArgument]], blockTimeout: Duration?) async throws -> [RedisReply] {
        try await cancellable { connection in try await connection.blockingPipeline(commands, blockTimeout: blockTimeout) }
    }

    private func cancellable<T: Sendable>(_ body: (RedisConnection) async throws -> T) async throws -> T {
        let cancellation = CallCancellation()
        return try await withTaskCancellationHandler {
            try await connection.run(cancellation: cancellation, body)
        } onCancel: {
            cancellation.cancel()
        }
    }

    /// Closes the connection once the call in progress is answered; later calls throw `.closed`.
    public func close() { connection.close() }
}
