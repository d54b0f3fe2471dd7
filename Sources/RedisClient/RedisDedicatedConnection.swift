/// One connection reserved for a single loop of blocking commands (the peer's `BRPOP`/`BLMOVE`
/// intake, a relay's `XREAD BLOCK` worker), so a call that waits for seconds never holds a pooled
/// connection. Calls run one at a time on its own Dispatch queue; it reconnects like the pool.
public final class RedisDedicatedConnection: Sendable {
    private let worker: RedisWorker

    init(worker: RedisWorker) { self.worker = worker }

    /// A normal command on this connection (uses the command timeout).
    public func send(_ arguments: [RedisArgument]) async throws -> RedisReply {
        try await worker.run { connection in try connection.command(arguments) }
    }

    public func send(_ arguments: RedisArgument...) async throws -> RedisReply {
        try await send(arguments)
    }

    public func pipeline(_ commands: [[RedisArgument]]) async throws -> [RedisReply] {
        if commands.isEmpty { return [] }
        return try await worker.run { connection in try connection.pipeline(commands) }
    }

    /// A blocking command whose server-side timeout is `blockTimeout` (`nil` for Redis' `0`,
    /// block forever), e.g. `blocking(["BRPOP", "q", 5], blockTimeout: .seconds(5))`; a timeout
    /// returns `.null`. Cancelling the task interrupts the wait (the call throws
    /// `CancellationError` and the connection is replaced on the next call).
    public func blocking(_ arguments: [RedisArgument], blockTimeout: Duration?) async throws -> RedisReply {
        let cancellation = CallCancellation()
        return try await withTaskCancellationHandler {
            try await worker.run(cancellation: cancellation) { connection in
                try connection.blockingCommand(arguments, blockTimeout: blockTimeout)
            }
        } onCancel: {
            cancellation.cancel()
        }
    }

    /// Closes the connection after the call in progress; later calls throw `.closed`.
    public func close() { worker.close() }
}
