import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import HummingbirdWebSocket
import Logging
import NIOCore

/// A fake Substrate node for tests: a WebSocket JSON-RPC server on 127.0.0.1 (free port) that
/// answers by script, records every request, and can misbehave on demand (hang, drop the
/// connection, send garbage, never finalize).
///
///     let node = try await ReplayNode.start { request in
///         switch request.method {
///         case "state_getStorage": .result(nil)
///         case "author_submitAndWatchExtrinsic":
///             .subscription(id: "tx1", notifications: ["ready", ["inBlock": "0x01"], ["finalized": "0x01"]])
///         default: nil
///         }
///     }
///     defer { Task { await node.stop() } }   // or `await node.stop()` at the end
///     // connect a client to node.url
public final class ReplayNode: Sendable {
    public let port: Int
    /// Whether the node serves wss:// (``start(logLevel:tls:script:)`` with a TLS configuration).
    public let tls: Bool
    public var url: String { tls ? "wss://localhost:\(port)" : "ws://127.0.0.1:\(port)" }

    private let state: Locked<NodeState>
    private let task: Task<Void, Never>

    struct NodeState {
        var script: ReplayScript
        var requests: [ReplayRequest] = []
        var nextConnection = 0
        var sessions: [Int: any Channel] = [:]
        var frames = 0
        var closeFrames = 0
    }

    private init(port: Int, tls: Bool, state: Locked<NodeState>, task: Task<Void, Never>) {
        self.port = port
        self.tls = tls
        self.state = state
        self.task = task
    }

    /// Starts listening; returns once the port is bound.
    private static func serverBuilder(
        tls: TLSConfiguration?,
        serve: @escaping @Sendable (any Channel, WebSocketOutboundWriter, WebSocketInboundStream) async -> Void
    ) throws -> HTTPServerBuilder {
        let base = HTTPServerBuilder.http1WebSocketUpgrade(configuration: .init(ws: .init(maxFrameSize: 16 << 20))) {
            (_: HTTPRequest, channel: any Channel, _: Logger) async throws -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> in
            .upgrade([:]) { inbound, outbound, _ in await serve(channel, outbound, inbound) }
        }
        guard let tls else { return base }
        return try .tls(base, tlsConfiguration: tls)
    }

    /// With `tls`, the node serves `wss://` (its ``url`` names `localhost`, for the certificate).
    public static func start(logLevel: Logger.Level = .critical, tls: TLSConfiguration? = nil,
                             script: @escaping ReplayScript) async throws -> ReplayNode {
        let state = Locked(NodeState(script: script))
        var logger = Logger(label: "test.replay-node")
        logger.logLevel = logLevel
        let bound = OneShot<Int>()
        let sessionLogger = logger
        let app = Application(
            router: Router(context: BasicRequestContext.self),
            server: try serverBuilder(tls: tls) { channel, outbound, inbound in
                await ReplaySession(state: state, channel: channel, outbound: outbound, logger: sessionLogger).serve(inbound)
            },
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
            onServerRunning: { channel in
                if let port = channel.localAddress?.port {
                    bound.fulfill(.success(port))
                } else {
                    bound.fulfill(.failure(ReplayNodeError.noPort))
                }
            },
            logger: logger)
        let task = Task {
            do {
                try await app.run()
                bound.fulfill(.failure(ReplayNodeError.stopped))
            } catch {
                bound.fulfill(.failure(error))
            }
        }
        do {
            return ReplayNode(port: try await bound.wait(), tls: tls != nil, state: state, task: task)
        } catch {
            task.cancel()
            _ = await task.result
            throw error
        }
    }

    /// Closes every connection, then the listener, and waits until the server has stopped.
    public func stop() async {
        closeAllConnections()
        task.cancel()
        await task.value
    }

    /// Replaces the script (for requests that arrive from now on).
    public func setScript(_ script: @escaping ReplayScript) {
        state.withLock { $0.script = script }
    }

    /// Every request received so far, in order.
    public var requests: [ReplayRequest] {
        state.withLock { $0.requests }
    }

    /// The requests for `method`.
    public func requests(_ method: String) -> [ReplayRequest] {
        requests.filter { $0.method == method }
    }

    /// How many WebSocket connections were accepted so far.
    public var connectionCount: Int {
        state.withLock { $0.nextConnection }
    }

    /// How many connections are open now.
    public var openConnections: Int {
        state.withLock { $0.sessions.count }
    }

    /// Frames received that were not a JSON-RPC request (garbage, binary).
    public var ignoredFrames: Int {
        state.withLock { $0.frames }
    }

    /// Close frames clients sent (a polite close sends one).
    public var closeFramesReceived: Int {
        state.withLock { $0.closeFrames }
    }

    /// Drops every open connection at once (TCP close, no close frame): a node crash.
    public func closeAllConnections() {
        let channels: [any Channel] = state.withLock { Array($0.sessions.values) }
        for channel in channels { channel.close(promise: nil) }
    }

    /// Waits until a request for `method` has arrived (polling), up to `timeout`.
    public func waitForRequest(_ method: String, timeout: Duration = .seconds(5)) async -> ReplayRequest? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let request = requests(method).first { return request }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return requests(method).first
    }
}

/// A value behind an `NSLock` (the support target does not depend on NIO's helpers).
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

public enum ReplayNodeError: Error, CustomStringConvertible {
    case noPort
    case stopped

    public var description: String {
        switch self {
        case .noPort: "replay node: the listener has no port"
        case .stopped: "replay node: the server stopped before listening"
        }
    }
}

/// A value set once, awaited by any number of waiters.
final class OneShot<Value: Sendable>: Sendable {
    private let state = Locked<(result: Result<Value, any Error>?, waiters: [CheckedContinuation<Value, any Error>])>((nil, []))

    func fulfill(_ result: Result<Value, any Error>) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value, any Error>] in
            guard case .none = state.result else { return [] }
            state.result = result
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(with: result) }
    }

    func wait() async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            let known = state.withLock { state -> Result<Value, any Error>? in
                if case .none = state.result { state.waiters.append(continuation) }
                return state.result
            }
            if let known { continuation.resume(with: known) }
        }
    }
}
