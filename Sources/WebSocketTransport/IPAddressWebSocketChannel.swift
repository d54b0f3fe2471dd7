import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import NIOWebSocket
import WSClient
// `WebSocketHandler` (frames, pings, the close handshake) is swift-websocket's own, shared with
// its client and server behind this SPI; the package pins swift-websocket to a minor version.
@_spi(WSInternal) import WSCore

/// swift-websocket's client pipeline for a host that is an IP address: TLS without a server
/// name (NIOSSL then checks the certificate against the peer's address), the HTTP/1.1 upgrade,
/// and the connection handed to swift-websocket's `WebSocketHandler`. The configuration's
/// extensions and additional headers are not used (the project sets none).
struct IPAddressWebSocketChannel: ClientConnectionChannel {
    enum Upgrade: Sendable {
        case websocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>)
        case declined
    }
    typealias Value = EventLoopFuture<Upgrade>
    typealias Result = WebSocketCloseFrame?

    struct Context: WebSocketContext {
        let logger: Logger
    }

    let target: IPAddressTarget
    let configuration: WebSocketClientConfiguration
    let sslContext: NIOSSLContext
    let handler: WebSocketConnector.Handler

    init(target: IPAddressTarget, configuration: WebSocketClientConfiguration, tlsConfiguration: TLSConfiguration,
         handler: @escaping WebSocketConnector.Handler) throws {
        self.target = target
        self.configuration = configuration
        self.sslContext = try NIOSSLContext(configuration: tlsConfiguration)
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
            // No server name: an IP address may not be one; NIOSSL verifies the address instead.
            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: nil), position: .first)
            return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(configuration: pipeline)
        }
    }

    func handle(value: Value, logger: Logger) async throws -> Result {
        switch try await value.get() {
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
                try await handler(inbound, outbound)
            }
        case .declined:
            throw WebSocketClientError.webSocketUpgradeFailed
        }
    }
}
