import Logging
import NIOConcurrencyHelpers

/// A Substrate JSON-RPC client over one WebSocket at a time, with URL failover
/// (twins.md §4 "Chain client failover"):
///
/// * URLs are used round robin: the client stays on one URL while it works and moves to the next
///   after a transport failure;
/// * a request gets at most 2 × (number of URLs) attempts, each bounded by `attemptTimeout`,
///   connecting included;
/// * a transport error or timeout drops the connection and retries on the next URL; any other
///   answer (a JSON-RPC error object, a malformed result) is returned at once;
/// * connecting is lazy: the first request connects, and the first request after a drop reconnects.
///
/// **Requests that must not be repeated** (extrinsic submission) follow a stricter rule: they
/// are retried only while their frame has not been handed to a socket (connect failed, the node
/// was unreachable, or the connection died while the request was still queued). Once written,
/// a lost connection or a timeout is ``RPCError/outcomeUnknown(method:reason:)``: the node may have
/// accepted the extrinsic, and sending it to another node could only be a duplicate.
///
/// Subscriptions live on the connection they were made on: when it drops, their streams finish
/// with the transport error and the consumer subscribes again (which reconnects).
///
/// Call ``close()`` when done: it ends the connection and waits for its socket task.
public actor SubstrateRPCClient {
    public nonisolated let urls: [String]
    public nonisolated let attemptTimeout: Duration
    private let logger: Logger
    private let connectionConfiguration: RPCConnection.Configuration

    private var current: RPCConnection?
    /// Index of the URL for the next connection.
    private var nextURL = 0
    /// Dropped connections whose socket task may still be winding down; `close()` waits for them.
    private var retiring: [RPCConnection] = []
    private var nextToken: UInt64 = 0
    private var isClosed = false

    public init(urls: [String], attemptTimeout: Duration = .seconds(12), logger: Logger = Logger(label: "substrate.rpc")) {
        self.urls = urls
        self.attemptTimeout = attemptTimeout
        self.logger = logger
        self.connectionConfiguration = .init()
    }

    deinit {
        current?.shutdown(.closed)
        for connection in retiring { connection.shutdown(.closed) }
    }

    /// Ends the connection (waiting requests and subscriptions fail with ``RPCError/closed``) and
    /// waits until no socket task of this client runs any more. Later requests fail with `.closed`.
    public func close() async {
        isClosed = true
        let connections = (current.map { [$0] } ?? []) + retiring
        current = nil
        retiring = []
        for connection in connections { await connection.close(.closed) }
    }

    // MARK: Requests

    /// One JSON-RPC request with failover. Throws `.server` for a JSON-RPC error answer.
    public func call(_ method: String, _ params: [JSONValue] = []) async throws(RPCError) -> JSONValue {
        let answer = try await perform(method, params, kind: .call, repeatable: true)
        guard case .value(let value) = answer else { throw .invalidResponse("\(method): unexpected subscription") }
        return value
    }

    /// A subscription: the stream yields each notification's `result`. It finishes with an error
    /// when the connection drops or the node sends an error; a consumer that stops iterating
    /// (cancellation, dropping the stream) unsubscribes with `unsubscribe`.
    public func subscribe(_ method: String, _ params: [JSONValue] = [], unsubscribe: String) async throws(RPCError)
        -> AsyncThrowingStream<JSONValue, any Error>
    {
        try await subscribe(method, params, unsubscribe: unsubscribe, repeatable: true) { value in (value, .more) }
    }

    /// A subscription whose notifications are decoded by `decode`, which also says whether the
    /// node ends the subscription after this one. A decoding error finishes the stream with
    /// that error and unsubscribes.
    func subscribe<Element: Sendable>(
        _ method: String, _ params: [JSONValue], unsubscribe: String, repeatable: Bool,
        decode: @escaping @Sendable (JSONValue) throws(RPCError) -> (Element, SubscriptionSink.Verdict)
    ) async throws(RPCError) -> AsyncThrowingStream<Element, any Error> {
        let (stream, continuation) = AsyncThrowingStream<Element, any Error>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        let sink = SubscriptionSink(
            deliver: { outcome in
                switch outcome {
                case .success(let value):
                    do throws(RPCError) {
                        let (element, verdict) = try decode(value)
                        continuation.yield(element)
                        if case .ended = verdict { continuation.finish() }
                        return verdict
                    } catch {
                        continuation.finish(throwing: error)
                        return .abandoned
                    }
                case .failure(let error):
                    continuation.finish(throwing: error)
                    return .ended
                }
            },
            finish: { error in
                if let error { continuation.finish(throwing: error) } else { continuation.finish() }
            })
        nextToken += 1
        let token = nextToken
        let owner = NIOLockedValueBox<RPCConnection?>(nil)
        continuation.onTermination = { termination in
            guard case .cancelled = termination else { return }
            owner.withLockedValue { $0 }?.unsubscribe(token: token)
        }
        do throws(RPCError) {
            let (answer, connection) = try await performReturningConnection(
                method, params, kind: .subscribe(sink, unsubscribe: unsubscribe, token: token), repeatable: repeatable)
            guard case .subscribed = answer else { throw .invalidResponse("\(method): no subscription id") }
            owner.withLockedValue { $0 = connection }
            return stream
        } catch {
            continuation.finish()
            throw error
        }
    }

    /// The failover loop for requests that must not be repeated once written (see the type's doc).
    func callOnce(_ method: String, _ params: [JSONValue]) async throws(RPCError) -> JSONValue {
        let answer = try await perform(method, params, kind: .call, repeatable: false)
        guard case .value(let value) = answer else { throw .invalidResponse("\(method): unexpected subscription") }
        return value
    }

    // MARK: Failover

    private func perform(_ method: String, _ params: [JSONValue], kind: RequestKind, repeatable: Bool) async throws(RPCError) -> Answer {
        try await performReturningConnection(method, params, kind: kind, repeatable: repeatable).0
    }

    private func performReturningConnection(_ method: String, _ params: [JSONValue], kind: RequestKind, repeatable: Bool)
        async throws(RPCError) -> (Answer, RPCConnection)
    {
        guard !urls.isEmpty else { throw .allAttemptsFailed(urls: [], attempts: 0, lastError: nil) }
        let limit = 2 * urls.count
        var lastError: RPCError?
        for attempt in 1...limit {
            if isClosed { throw .closed }
            if Task.isCancelled { throw .cancelled }
            let connection = connectionForAttempt()
            switch await self.attempt(on: connection, method, params, kind: kind) {
            case .success(let answer):
                return (answer, connection)
            case .failure(let failure):
                guard failure.error.isTransportFailure else { throw failure.error }
                logger.warning("chain request failed, reconnecting", metadata: [
                    "method": "\(method)", "url": "\(connection.url)", "attempt": "\(attempt)/\(limit)",
                    "error": "\(failure.error)",
                ])
                drop(connection)
                if !repeatable && failure.written {
                    throw .outcomeUnknown(method: method, reason: failure.error.description)
                }
                lastError = failure.error
            }
        }
        throw .allAttemptsFailed(urls: urls, attempts: limit, lastError: lastError)
    }

    private func connectionForAttempt() -> RPCConnection {
        if let current, !current.isEnded { return current }
        if let current { drop(current) }
        let connection = RPCConnection(url: urls[nextURL % urls.count], configuration: connectionConfiguration, logger: logger)
        connection.start()
        current = connection
        return connection
    }

    /// Retires a failed connection; when it was the current one, the next attempt uses the next URL.
    private func drop(_ connection: RPCConnection) {
        connection.shutdown()
        if current === connection {
            current = nil
            nextURL = (nextURL + 1) % urls.count
        }
        retiring.removeAll { $0.isFinished }
        if !retiring.contains(where: { $0 === connection }) { retiring.append(connection) }
    }

    private enum Race: Sendable {
        case answered(Result<Answer, RequestFailure>)
        case timerFired
        case timerCancelled
    }

    /// One attempt (connect if needed + answer), bounded by `attemptTimeout`. When the timer wins
    /// the request is cancelled and reports whether it had been written.
    private func attempt(on connection: RPCConnection, _ method: String, _ params: [JSONValue], kind: RequestKind)
        async -> Result<Answer, RequestFailure>
    {
        let timeout = attemptTimeout
        return await withTaskGroup(of: Race.self) { group in
            group.addTask { .answered(await connection.request(method, params, kind: kind)) }
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                    return .timerFired
                } catch {
                    return .timerCancelled
                }
            }
            let first = await group.next()
            group.cancelAll()
            if case .answered(let result)? = first { return result }
            // The timer ended first (fired, or the caller was cancelled): collect the request's outcome.
            var late: Result<Answer, RequestFailure> = .failure(RequestFailure(.cancelled, written: false))
            while let next = await group.next() {
                if case .answered(let result) = next { late = result }
            }
            switch late {
            case .success:
                return late  // the answer raced the timer
            case .failure(let failure):
                if case .timerFired? = first, failure.error == .cancelled {
                    return .failure(RequestFailure(.timeout(method: method, after: timeout), written: failure.written))
                }
                return late
            }
        }
    }
}
