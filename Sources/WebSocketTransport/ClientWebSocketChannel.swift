import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import NIOWebSocket
import WSClient
// `WebSocketHandler` (frames, pings, the close handshake) is swift-websocket's own, shared with
// its client and server behind this SPI; the package pins swift-websocket to a minor version.
@_spi(WSInternal) import WSCore

/// The client pipeline of ``WebSocketConnector``: TLS for `wss://` (with the host as server name,
/// or none for an IP address — NIOSSL then checks the certificate against the peer's address),
/// the HTTP/1.1 upgrade, and the session handed to swift-websocket's `WebSocketHandler`.
/// Cancelled while the upgrade is unanswered, it closes the connection. The configuration's
/// extensions and additional headers are not used (the project sets none).
struct ClientWebSocketChannel: ClientConnectionChannel {
    enum Upgrade: Sendable {
        case websocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>)
        case declined
    }
    /// The connection and its upgrade's outcome.
    struct Pending: Sendable {
        let channel: any Channel
        let upgrade: EventLoopFuture<Upgrade>
    }
    typealias Value = Pending
    typealias Result = WebSocketCloseFrame?

    struct Context: WebSocketContext {
        let logger: Logger
    }

    let target: WebSocketTarget
    let configuration: WebSocketClientConfiguration
    let sslContext: NIOSSLContext?
    let handler: WebSocketConnector.Handler

    init(target: WebSocketTarget, configuration: WebSocketClientConfiguration, tlsConfiguration: TLSConfiguration?,
         handler: @escaping WebSocketConnector.Handler) throws {
        self.target = target
        self.configuration = configuration
        self.sslContext = try tlsConfiguration.map { try NIOSSLContext(configuration: $0) }
        self.handler = handler
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let upgrader = NIOTypedWebSocketClientUpgrader<Upgrade>(maxFrameSize: configuration.maxFrameSize) { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    .websocket(try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(wrappingChannelSynchronously: channel))
                }
            }
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: target.hostHeader)
            let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target.target, headers: headers)
            let upgrade = NIOTypedHTTPClientUpgradeConfiguration<Upgrade>(
                upgradeRequestHead: head, upgraders: [upgrader],
                notUpgradingCompletionHandler: { $0.eventLoop.makeSucceededFuture(.declined) })
            var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: upgrade)
            pipeline.leftOverBytesStrategy = .forwardBytes
            if let sslContext {
                // No server name for an IP address (it may not be one); NIOSSL verifies the address instead.
                try channel.pipeline.syncOperations.addHandler(
                    NIOSSLClientHandler(context: sslContext, serverHostname: target.serverName), position: .first)
            }
            let outcome = try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: pipeline)
            return Pending(channel: channel, upgrade: outcome)
        }
    }

    func handle(value: Value, logger: Logger) async throws -> Result {
        // A hung server never answers the upgrade: cancellation closes the connection, which
        // fails the wait.
        let upgrade = try await withTaskCancellationHandler {
            try await value.upgrade.get()
        } onCancel: {
            value.channel.close(promise: nil)
        }
        switch upgrade {
        case .websocket(let channel):
            let handler = self.handler
            return try await WebSocketHandler.handle(
                type: .client,
                configuration: .init(extensions: [], autoPing: configuration.autoPing, closeTimeout: configuration.closeTimeout,
                                     validateUTF8: configuration.validateUTF8,
                                     ignoreUncleanSSLShutdownErrors: configuration.ignoreUncleanSSLShutdownErrors,
                                     maxFrameSize: configuration.maxFrameSize),
                asyncChannel: channel, context: Context(logger: logger)
            ) { inbound, outbound, _ in
                try await handler(inbound, WebSocketOutbound(writer: outbound, channel: channel.channel))
            }
        case .declined:
            throw WebSocketClientError.webSocketUpgradeFailed
        }
    }
}
