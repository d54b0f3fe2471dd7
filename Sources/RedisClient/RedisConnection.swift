import NIOCore
import NIOPosix

/// One TCP connection to Redis, a NIO channel (`RESPDecoder` → `RedisChannelHandler`, commands
/// encoded by `RESPEncoder`). Any number of tasks may call it at once: their commands are
/// pipelined and each gets its own reply. A caller on the channel's event loop writes, waits
/// and resumes on that thread, without a hop.
///
/// It never reconnects: after an I/O error, timeout, protocol error or `close()` every call
/// fails (with `RedisNotSent` once the end is known before sending) and `isUsable` is `false`.
/// `ReconnectingConnection` replaces it.
final class RedisConnection: Sendable {
    let endpoint: RedisEndpoint
    /// Longest wait for a reply (`nil` = wait forever); blocking commands add their own timeout.
    let commandTimeout: Duration?
    private let channel: any Channel
    private let handler: NIOLoopBound<RedisChannelHandler>

    var eventLoop: any EventLoop { channel.eventLoop }

    /// `false` once the connection ended (either side closed it, or it failed).
    var isUsable: Bool { channel.isActive }

    private init(endpoint: RedisEndpoint, commandTimeout: Duration?, channel: any Channel, handler: NIOLoopBound<RedisChannelHandler>) {
        self.endpoint = endpoint
        self.commandTimeout = commandTimeout
        self.channel = channel
        self.handler = handler
    }

    /// Connects (TCP_NODELAY, keepalive) on `eventLoop`, then runs AUTH / SELECT if the endpoint
    /// asks for them, before any other command can be sent.
    static func connect(
        endpoint: RedisEndpoint,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration? = .seconds(10),
        on eventLoop: any EventLoop = NIOSingletons.posixEventLoopGroup.any()
    ) async throws(RedisError) -> RedisConnection {
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        RESPDecoder(), MessageToByteHandler(RESPEncoder()), RedisChannelHandler())
                }
            }
        let connection: RedisConnection
        do {
            let channel: any Channel
            if let address = try? SocketAddress(ipAddress: endpoint.host, port: endpoint.port) {
                channel = try await bootstrap.connect(to: address).get()
            } else {
                channel = try await bootstrap.connect(host: endpoint.host, port: endpoint.port).get()
            }
            let handler = try await channel.eventLoop.submit {
                NIOLoopBound(try channel.pipeline.syncOperations.handler(type: RedisChannelHandler.self), eventLoop: channel.eventLoop)
            }.get()
            connection = RedisConnection(endpoint: endpoint, commandTimeout: commandTimeout, channel: channel, handler: handler)
        } catch {
            throw .connectionFailed("\(endpoint): \(connectFailure(error))")
        }
        do {
            try await connection.login()
        } catch {
            connection.close()
            throw (error as? RedisError ?? .io("\(error)")).asConnectionFailure
        }
        return connection
    }

    // MARK: Commands

    /// Sends one command and returns its reply (an error reply is `.error`, not thrown).
    func command(_ arguments: [RedisArgument]) async throws -> RedisReply {
        if arguments.isEmpty { throw RedisError.invalidArgument("empty command") }
        return try await reply(to: .command(arguments), timeout: commandTimeout)
    }

    /// A blocking command (`BRPOP k 5`, `BLMOVE … 5`, `XREAD BLOCK 2000 …`) whose server-side
    /// timeout is `blockTimeout`: the reply may take that long plus the command timeout. `nil`
    /// means the server may block forever (timeout `0`), so the wait has no limit either.
    func blockingCommand(_ arguments: [RedisArgument], blockTimeout: Duration?) async throws -> RedisReply {
        if arguments.isEmpty { throw RedisError.invalidArgument("empty command") }
        var timeout: Duration?
        if let blockTimeout, let commandTimeout { timeout = blockTimeout + commandTimeout }
        return try await reply(to: .command(arguments), timeout: timeout)
    }

    /// Sends the commands in one write (nothing else can land between them) and returns their
    /// replies in order; an error reply takes its slot, an I/O error fails the whole pipeline.
    func pipeline(_ commands: [[RedisArgument]]) async throws -> [RedisReply] {
        try await pipeline(commands, timeout: commandTimeout)
    }

    /// A pipeline that may contain a blocking command (`blockTimeout` as in `blockingCommand`):
    /// Redis runs the commands after it once it returns, all replies come back together.
    func blockingPipeline(_ commands: [[RedisArgument]], blockTimeout: Duration?) async throws -> [RedisReply] {
        var timeout: Duration?
        if let blockTimeout, let commandTimeout { timeout = blockTimeout + commandTimeout }
        return try await pipeline(commands, timeout: timeout)
    }

    private func pipeline(_ commands: [[RedisArgument]], timeout: Duration?) async throws -> [RedisReply] {
        if commands.isEmpty { return [] }
        if commands.contains(where: \.isEmpty) { throw RedisError.invalidArgument("empty command in pipeline") }
        let timeout = timeout.map { TimeAmount($0) }
        return try await withCheckedThrowingContinuation { continuation in
            submit(.pipeline(commands), timeout: timeout, .replies(continuation))
        }
    }

    /// Ends the connection: at once (calls in flight fail with `.closed`), or after the calls in
    /// flight were answered.
    func close(gracefully: Bool = false) {
        let handler = handler
        if eventLoop.inEventLoop {
            handler.value.close(gracefully: gracefully)
        } else {
            eventLoop.execute { handler.value.close(gracefully: gracefully) }
        }
    }

    // MARK: Internals

    private func reply(to request: RedisRequest, timeout: Duration?) async throws -> RedisReply {
        let timeout = timeout.map { TimeAmount($0) }
        return try await withCheckedThrowingContinuation { continuation in
            submit(request, timeout: timeout, .reply(continuation))
        }
    }

    private func submit(_ request: RedisRequest, timeout: TimeAmount?, _ continuation: RedisChannelHandler.Continuation) {
        let handler = handler
        if eventLoop.inEventLoop {
            handler.value.enqueue(request, timeout: timeout, continuation: continuation)
        } else {
            eventLoop.execute { handler.value.enqueue(request, timeout: timeout, continuation: continuation) }
        }
    }

    private func login() async throws {
        if let password = endpoint.password {
            var arguments: [RedisArgument] = ["AUTH"]
            if let user = endpoint.username { arguments.append(.string(user)) }
            arguments.append(.string(password))
            if let message = try await command(arguments).errorMessage { throw RedisError.connectionFailed("AUTH: \(message)") }
        }
        if let database = endpoint.database {
            if let message = try await command(["SELECT", .integer(database)]).errorMessage {
                throw RedisError.connectionFailed("SELECT \(database): \(message)")
            }
        }
    }
}

extension RedisError {
    /// Failures while logging in count as connection failures.
    var asConnectionFailure: RedisError {
        switch self {
        case .connectionFailed: self
        default: .connectionFailed(description)
        }
    }
}

/// NIO's connect errors as short text (`Connection refused (errno: 111)`, `timed out after 2 s`).
private func connectFailure(_ error: any Error) -> String {
    if let error = error as? NIOConnectionError {
        if let first = error.connectionErrors.first { return "\(first.error)" }
        if let dns = error.dnsAError ?? error.dnsAAAAError { return "cannot resolve host: \(dns)" }
        return "no address for \(error.host)"
    }
    if case let ChannelError.connectTimeout(amount) = error {
        return "connect timed out after \(Double(amount.nanoseconds) / 1e9) s"
    }
    return "\(error)"
}
