import HummingbirdWSClient
import TLSSupport
import WebSocketTransport
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// One WebSocket to one node, carrying JSON-RPC 2.0 requests, answers and subscription
/// notifications. It never reconnects: once it ends (node closed it, write failed, ``shutdown()``)
/// every waiting request and subscription fails with the reason, and the client makes a new one,
/// usually to the next URL.
///
/// State lives behind one lock; continuations and stream callbacks are invoked outside it, because
/// finishing a stream runs its termination handler, which comes back here.
///
/// The socket is owned by one task (``start()``) that runs the WebSocket client; within it a reader
/// and a writer run side by side. Requests are queued to the writer instead of being written by
/// the caller, so unsubscribing from a synchronous termination handler needs no extra task, and
/// the writer knows exactly which requests went out (`written`) before a failure.
final class RPCConnection: Sendable {
    struct Configuration: Sendable {
        /// Metadata answers are about a megabyte of hex; leave room.
        var maxMessageSize = 64 << 20
        var maxFrameSize = 16 << 20
        /// WebSocket ping period, so a silently dead socket is noticed while subscriptions idle.
        var keepalive: Duration = .seconds(20)
        var closeTimeout: Duration = .seconds(2)
    }

    private enum Phase {
        case connecting
        case open
        case ended(RPCError)
    }

    private struct Pending {
        let method: String
        let kind: RequestKind
        let continuation: CheckedContinuation<Result<Answer, RequestFailure>, Never>
        /// Set when the writer takes the frame, before the write: "may have reached the node".
        var written = false
    }

    private struct Subscription {
        let sink: SubscriptionSink
        let unsubscribe: String
        let token: UInt64
    }

    private struct State {
        var phase = Phase.connecting
        var openWaiters: [UInt64: CheckedContinuation<Result<Void, RPCError>, Never>] = [:]
        var nextID: UInt64 = 1
        var pending: [UInt64: Pending] = [:]
        /// Requests whose answers nobody waits for (unsubscribes).
        var unanswered: Set<UInt64> = []
        var subscriptions: [String: Subscription] = [:]
        var subscriptionByToken: [UInt64: String] = [:]
        var task: Task<Void, Never>?
        var taskFinished = false
    }

    private struct Frame: Sendable {
        let id: UInt64
        let text: String
    }

    let url: String
    private let configuration: Configuration
    private let logger: Logger
    private let state = NIOLockedValueBox(State())
    private let outgoing: AsyncStream<Frame>
    private let outgoingContinuation: AsyncStream<Frame>.Continuation

    init(url: String, configuration: Configuration = .init(), logger: Logger) {
        self.url = url
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "chain_url"] = "\(url)"
        self.logger = logger
        (outgoing, outgoingContinuation) = AsyncStream.makeStream()
    }

    // MARK: Lifecycle

    /// Starts connecting in the connection's own task. Call once.
    func start() {
        let task = Task { await self.run() }
        state.withLockedValue { $0.task = task }
    }

    /// Ends the connection without waiting for its task (a failover step must not wait for a
    /// stuck socket). Waiting requests fail with `reason`.
    func shutdown(_ reason: RPCError = .transport("connection dropped by the client")) {
        end(reason)
        state.withLockedValue { $0.task }?.cancel()
    }

    /// Ends the connection politely and waits until the socket task has ended: the writer
    /// stops, so the WebSocket handler returns and sends a close frame (1000) and waits for the
    /// node's (at most ``Configuration/closeTimeout``, then the TLS close, which does not wait); a node that
    /// answers neither is cut off by cancellation shortly after.
    func close(_ reason: RPCError) async {
        end(reason)
        guard let task = state.withLockedValue({ $0.task }) else { return }
        let bound = configuration.closeTimeout + .milliseconds(500)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await task.value }
            group.addTask {
                try? await Task.sleep(for: bound)
                task.cancel()
            }
            await group.next()
            group.cancelAll()
        }
        await task.value
    }

    var isEnded: Bool {
        state.withLockedValue { if case .ended = $0.phase { true } else { false } }
    }

    /// Whether the socket task has ended (nothing of this connection runs any more).
    var isFinished: Bool {
        state.withLockedValue { $0.taskFinished }
    }

    private func run() async {
        defer { state.withLockedValue { $0.taskFinished = true } }
        var wsConfiguration = WebSocketClientConfiguration(maxFrameSize: configuration.maxFrameSize,
                                                           autoPing: .enabled(timePeriod: configuration.keepalive))
        wsConfiguration.closeTimeout = configuration.closeTimeout
        do {
            let closeFrame = try await WebSocketConnector.connect(url: url, configuration: wsConfiguration, tlsConfiguration: ClientTLS.configuration(), logger: logger) {
                inbound, outbound in
                guard self.opened() else { return }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await self.writeLoop(outbound.writer) }
                    group.addTask { try await self.readLoop(inbound) }
                    _ = try await group.next()
                    group.cancelAll()
                }
            }
            end(.transport("connection closed by the node" + (closeFrame.map { " (\($0.closeCode))" } ?? "")))
        } catch {
            end(.transport(await CertificateDiagnosis.describe(error, url: url)))
        }
    }

    /// Called once the WebSocket is up; `false` when the connection was shut down meanwhile.
    private func opened() -> Bool {
        let waiters: [CheckedContinuation<Result<Void, RPCError>, Never>]? = state.withLockedValue { state in
            guard case .connecting = state.phase else { return nil }
            state.phase = .open
            defer { state.openWaiters = [:] }
            return Array(state.openWaiters.values)
        }
        guard let waiters else { return false }
        logger.debug("chain connection open")
        for waiter in waiters { waiter.resume(returning: .success(())) }
        return true
    }

    /// Fails everything that waits on this connection, once.
    private func end(_ reason: RPCError) {
        let taken = state.withLockedValue { state -> (waiters: [CheckedContinuation<Result<Void, RPCError>, Never>], pending: [Pending], subscriptions: [Subscription])? in
            if case .ended = state.phase { return nil }
            state.phase = .ended(reason)
            defer {
                state.openWaiters = [:]
                state.pending = [:]
                state.unanswered = []
                state.subscriptions = [:]
                state.subscriptionByToken = [:]
            }
            return (Array(state.openWaiters.values), Array(state.pending.values), Array(state.subscriptions.values))
        }
        guard let taken else { return }
        outgoingContinuation.finish()
        if reason != .closed {
            logger.debug("chain connection ended", metadata: ["reason": "\(reason)"])
        }
        for waiter in taken.waiters { waiter.resume(returning: .failure(reason)) }
        for pending in taken.pending {
            pending.continuation.resume(returning: .failure(RequestFailure(reason, written: pending.written)))
        }
        for subscription in taken.subscriptions { subscription.sink.finish(reason) }
    }

    // MARK: Requests

    /// Waits until the WebSocket is up (or the connection ended). Cancellation-aware.
    func waitUntilOpen() async -> Result<Void, RPCError> {
        let waiterID = state.withLockedValue { state -> UInt64 in
            defer { state.nextID += 1 }
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<Void, RPCError>, Never>) in
                let immediate: Result<Void, RPCError>? = state.withLockedValue { state in
                    switch state.phase {
                    case .open: return .success(())
                    case .ended(let reason): return .failure(reason)
                    case .connecting:
                        if Task.isCancelled { return .failure(.cancelled) }
                        state.openWaiters[waiterID] = continuation
                        return nil
                    }
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLockedValue { $0.openWaiters.removeValue(forKey: waiterID) }
            waiter?.resume(returning: .failure(.cancelled))
        }
    }

    /// Connects if needed, sends one request and waits for its answer. Cancellation-aware: a
    /// cancelled caller's request is forgotten (and not written if it had not been yet).
    func request(_ method: String, _ params: [JSONValue], kind: RequestKind) async -> Result<Answer, RequestFailure> {
        if case .failure(let error) = await waitUntilOpen() {
            return .failure(RequestFailure(error, written: false))
        }
        let id = state.withLockedValue { state -> UInt64 in
            defer { state.nextID += 1 }
            return state.nextID
        }
        let frame = Frame(id: id, text: OutboundRequest(id: id, method: method, params: params).text)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<Answer, RequestFailure>, Never>) in
                let refused: RPCError? = state.withLockedValue { state in
                    if case .ended(let reason) = state.phase { return reason }
                    if Task.isCancelled { return .cancelled }
                    state.pending[id] = Pending(method: method, kind: kind, continuation: continuation)
                    outgoingContinuation.yield(frame)
                    return nil
                }
                if let refused { continuation.resume(returning: .failure(RequestFailure(refused, written: false))) }
            }
        } onCancel: {
            let pending = state.withLockedValue { $0.pending.removeValue(forKey: id) }
            pending?.continuation.resume(returning: .failure(RequestFailure(.cancelled, written: pending?.written ?? false)))
        }
    }

    /// The consumer of a subscription stopped listening: forget it and tell the node (the
    /// answer to the unsubscribe is not awaited).
    func unsubscribe(token: UInt64) {
        state.withLockedValue { state in
            guard let key = state.subscriptionByToken.removeValue(forKey: token),
                  let subscription = state.subscriptions.removeValue(forKey: key),
                  case .open = state.phase else { return }
            let id = state.nextID
            state.nextID += 1
            state.unanswered.insert(id)
            outgoingContinuation.yield(Frame(id: id, text: OutboundRequest(id: id, method: subscription.unsubscribe,
                                                                               params: [.string(key)]).text))
        }
    }

    // MARK: Socket loops

    private func writeLoop(_ outbound: WebSocketOutboundWriter) async throws {
        for await frame in outgoing {
            // A request whose caller gave up (timeout, cancellation) before it went out stays unsent:
            // its caller was told "not written" and may be retrying it elsewhere.
            let wanted = state.withLockedValue { state -> Bool in
                if state.pending[frame.id] != nil {
                    state.pending[frame.id]?.written = true
                    return true
                }
                return state.unanswered.contains(frame.id)
            }
            guard wanted else { continue }
            try await outbound.writeTextMessage(frame.text)
        }
    }

    private func readLoop(_ inbound: WebSocketInboundStream) async throws {
        for try await message in inbound.messages(maxSize: configuration.maxMessageSize) {
            switch message {
            case .text(let text): received(InboundMessage(text: text.utf8))
            // Substrate sends text; JSON in a binary frame is accepted all the same.
            case .binary(let buffer): received(InboundMessage(text: buffer.readableBytesView))
            }
        }
        end(.transport("connection closed by the node"))
    }

    private func received(_ message: InboundMessage) {
        switch message {
        case .response(let id, let outcome):
            answered(id: id, outcome)
        case .notification(let key, let outcome):
            notified(key: key, outcome)
        case .ignored(let reason):
            logger.debug("ignored a frame from the node", metadata: ["reason": "\(reason)"])
        }
    }

    private func answered(id: UInt64, _ outcome: Result<JSONValue, RPCError>) {
        let pending = state.withLockedValue { state -> Pending? in
            if state.unanswered.remove(id) != nil { return nil }
            guard let pending = state.pending.removeValue(forKey: id) else { return nil }
            // Register a new subscription before the next frame is read, under the same lock.
            if case .subscribe(let sink, let unsubscribe, let token) = pending.kind, case .success(let value) = outcome,
               let key = InboundMessage.subscriptionKey(value) {
                state.subscriptions[key] = Subscription(sink: sink, unsubscribe: unsubscribe, token: token)
                state.subscriptionByToken[token] = key
            }
            return pending
        }
        guard let pending else {
            logger.debug("ignored an answer to no pending request", metadata: ["id": "\(id)"])
            return
        }
        let result: Result<Answer, RequestFailure>
        switch (pending.kind, outcome) {
        case (_, .failure(let error)):
            result = .failure(RequestFailure(error, written: true))
        case (.call, .success(let value)):
            result = .success(.value(value))
        case (.subscribe, .success(let value)):
            if let key = InboundMessage.subscriptionKey(value) {
                result = .success(.subscribed(key))
            } else {
                result = .failure(RequestFailure(.invalidResponse("\(pending.method): subscription id \(value)"), written: true))
            }
        }
        pending.continuation.resume(returning: result)
    }

    private func notified(key: String, _ outcome: Result<JSONValue, RPCError>) {
        guard let subscription = state.withLockedValue({ $0.subscriptions[key] }) else {
            logger.debug("ignored a notification for no subscription", metadata: ["subscription": "\(key)"])
            return
        }
        switch subscription.sink.deliver(outcome) {
        case .more:
            break
        case .ended:
            state.withLockedValue { state in
                state.subscriptions[key] = nil
                state.subscriptionByToken[subscription.token] = nil
            }
        case .abandoned:
            unsubscribe(token: subscription.token)
        }
    }
}
