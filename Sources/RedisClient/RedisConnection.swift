import CHiredis
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One blocking hiredis connection (`redisContext*`).
///
/// Not thread-safe and deliberately not `Sendable`: use it from one thread at a time (the
/// `RedisClient` pins each connection to its own serial queue). Every call blocks its thread
/// until the reply arrives or the socket timeout fires, so never call it on Swift's cooperative
/// pool. The one thing other threads may do is `interruptHandle.interrupt()`.
///
/// Failure model: an error *reply* comes back as `.error` and the connection stays usable. An I/O,
/// timeout or protocol error leaves hiredis' context unusable: the connection is marked broken
/// and every later call throws `.closed`; open a new one.
public final class RedisConnection {
    public let endpoint: RedisEndpoint
    /// Socket timeout for each command (`nil` = wait forever).
    public let commandTimeout: Duration?
    /// Lets another thread abort a blocked call (e.g. a `BRPOP ... 0` at shutdown).
    public let interruptHandle: RedisInterruptHandle

    private var context: UnsafeMutablePointer<redisContext>?
    private var appliedTimeout: Duration?
    /// `true` after an I/O, timeout or protocol error, or `close()`.
    public private(set) var isBroken = false

    /// Connects (TCP, keepalive on), then runs AUTH / SELECT if the endpoint asks for them.
    public init(endpoint: RedisEndpoint, connectTimeout: Duration = .seconds(2), commandTimeout: Duration? = .seconds(10)) throws(RedisError) {
        ignoreSIGPIPE
        self.endpoint = endpoint
        self.commandTimeout = commandTimeout
        guard let context = redisConnectWithTimeout(endpoint.host, Int32(endpoint.port), makeTimeval(connectTimeout)) else {
            throw .connectionFailed("cannot allocate hiredis context")
        }
        if context.pointee.err != 0 {
            let text = RedisConnection.errorText(context)
            redisFree(context)
            throw .connectionFailed("\(endpoint): \(text)")
        }
        self.context = context
        self.interruptHandle = RedisInterruptHandle(fd: context.pointee.fd)
        _ = redisEnableKeepAlive(context)
        do {
            try applyTimeout(commandTimeout)
            try login()
        } catch {
            close()
            throw error.asConnectionFailure
        }
    }

    deinit { close() }

    /// Frees the hiredis context. Later calls throw `.closed`.
    public func close() {
        isBroken = true
        guard let context else { return }
        self.context = nil
        interruptHandle.invalidate { redisFree(context) }
    }

    /// Whether the server has closed this connection while it sat idle (Redis restarted, a
    /// `timeout` or `CLIENT KILL`): with no reply pending, a readable socket means end of file
    /// (or garbage), and an error or hang-up means the same. Non-blocking (one `poll`), so the
    /// next command goes to a fresh connection instead of failing on the dead one.
    public var serverClosedIdleConnection: Bool {
        guard !isBroken, let context else { return true }
        var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) > 0 else { return false }
        if descriptor.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 { return true }
        var byte: UInt8 = 0
        let count = recv(descriptor.fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return count >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
    }

    // MARK: Commands

    /// Sends one command and waits for its reply (`redisCommandArgv`, binary safe).
    public func command(_ arguments: [RedisArgument]) throws(RedisError) -> RedisReply {
        let context = try usableContext(arguments)
        try applyTimeout(commandTimeout)
        return try call(context) { context in
            withArgv(arguments) { argc, argv, lengths in redisCommandArgv(context, argc, argv, lengths) }
        }
    }

    /// Runs a blocking command (`BRPOP k 5`, `BLMOVE … 5`, `XREAD BLOCK 2000 …`) whose server-side
    /// timeout is `blockTimeout`; the socket waits that long plus the command timeout. `nil`
    /// means the server may block forever (timeout `0`), so the socket has no timeout either.
    public func blockingCommand(_ arguments: [RedisArgument], blockTimeout: Duration?) throws(RedisError) -> RedisReply {
        let context = try usableContext(arguments)
        var socketTimeout: Duration?
        if let blockTimeout, let commandTimeout { socketTimeout = blockTimeout + commandTimeout }
        try applyTimeout(socketTimeout)
        return try call(context) { context in
            withArgv(arguments) { argc, argv, lengths in redisCommandArgv(context, argc, argv, lengths) }
        }
    }

    /// Sends all commands in one write, then reads the replies in order (one round trip). An
    /// error reply takes its slot in the result; an I/O error fails the whole pipeline.
    public func pipeline(_ commands: [[RedisArgument]]) throws(RedisError) -> [RedisReply] {
        let context = try usableContext()
        try applyTimeout(commandTimeout)
        for arguments in commands {
            if arguments.isEmpty { throw .invalidArgument("empty command in pipeline") }
            let rc = withArgv(arguments) { argc, argv, lengths in redisAppendCommandArgv(context, argc, argv, lengths) }
            if rc != REDIS_OK { throw fail(context) }
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            replies.append(try call(context) { context in
                var reply: UnsafeMutableRawPointer?
                return redisGetReply(context, &reply) == REDIS_OK ? reply : nil
            })
        }
        return replies
    }

    // MARK: Internals

    private func usableContext(_ arguments: [RedisArgument]? = nil) throws(RedisError) -> UnsafeMutablePointer<redisContext> {
        if arguments?.isEmpty == true { throw .invalidArgument("empty command") }
        guard !isBroken, let context else { throw .closed }
        return context
    }

    /// Runs a hiredis call returning a reply (or NULL on failure), converts and frees the reply
    /// exactly once, and marks the connection broken on failure.
    private func call(
        _ context: UnsafeMutablePointer<redisContext>,
        _ body: (UnsafeMutablePointer<redisContext>) -> UnsafeMutableRawPointer?
    ) throws(RedisError) -> RedisReply {
        guard let raw = body(context) else { throw fail(context) }
        defer { freeReplyObject(raw) }
        return RedisReply(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// Marks the connection broken and maps hiredis' error state (read while errno is fresh).
    private func fail(_ context: UnsafeMutablePointer<redisContext>) -> RedisError {
        let savedErrno = errno
        isBroken = true
        let text = RedisConnection.errorText(context)
        switch context.pointee.err {
        case REDIS_ERR_IO where savedErrno == EAGAIN || savedErrno == EWOULDBLOCK
            || text == String(cString: strerror(EAGAIN)):
            return .timeout
        case REDIS_ERR_PROTOCOL: return .protocolError(text)
        case REDIS_ERR_OOM: return .io("out of memory")
        case 0: return .io("no reply")
        default:
            return interruptHandle.wasInterrupted ? .closed : .io(text)
        }
    }

    private func applyTimeout(_ timeout: Duration?) throws(RedisError) {
        guard timeout != appliedTimeout, let context else { return }
        if redisSetTimeout(context, makeTimeval(timeout ?? .zero)) != REDIS_OK { throw fail(context) }
        appliedTimeout = timeout
    }

    private func login() throws(RedisError) {
        if let password = endpoint.password {
            var arguments: [RedisArgument] = ["AUTH"]
            if let user = endpoint.username { arguments.append(.string(user)) }
            arguments.append(.string(password))
            if let message = try command(arguments).errorMessage { throw .connectionFailed("AUTH: \(message)") }
        }
        if let database = endpoint.database {
            if let message = try command(["SELECT", .integer(database)]).errorMessage {
                throw .connectionFailed("SELECT \(database): \(message)")
            }
        }
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { buffer in
            let bytes = buffer.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}

@available(*, unavailable, message: "a hiredis context must be used by one thread at a time")
extension RedisConnection: Sendable {}

extension RedisError {
    /// Failures while logging in count as connection failures.
    var asConnectionFailure: RedisError {
        switch self {
        case .connectionFailed: self
        default: .connectionFailed(description)
        }
    }
}

/// Ignored once per process: hiredis writes with `write(2)`, and a write to a socket the server
/// has closed (restart) would otherwise kill the whole process with SIGPIPE instead of failing
/// the call with EPIPE.
private let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

/// `Duration` → `struct timeval` for hiredis (negative durations count as zero = no timeout).
func makeTimeval(_ duration: Duration) -> timeval {
    let (seconds, attoseconds) = duration.components
    var result = timeval()
    result.tv_sec = .init(max(0, seconds))
    result.tv_usec = .init(max(0, attoseconds / 1_000_000_000_000))
    return result
}
