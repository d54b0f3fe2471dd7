import Hummingbird
import HummingbirdCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOSSL
import NIOWebSocket

/// One TCP port for HTTP and WebSocket (relay.md §1). A request carrying WebSocket upgrade
/// headers on any path is authenticated (§2) before the upgrade; a refused upgrade is *not*
/// answered with a bare 400 (as Hummingbird's stock channel does) but handed to the HTTP router,
/// which answers it with the exact status and text of §1 (see `UpgradeRejectionMiddleware`).
struct RelayChannel: ServerChildChannel, HTTPChannelHandler {
    /// Makes the connection object of an upgraded channel (on its event loop).
    typealias SessionFactory = @Sendable (any Channel, SessionID) -> SessionConnection

    enum UpgradeResult: Sendable {
        case websocket(SessionConnection)
        case notUpgraded(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case rejected(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, AuthRejection)
    }

    struct Value: ServerChildChannelValue {
        let upgradeResult: EventLoopFuture<UpgradeResult>
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    let maxFrameSize: Int
    /// The listener's TLS, if it serves TLS itself.
    let tls: ServerTLS?
    let limits: ConnectionLimits
    let admission: ConnectionAdmission
    /// Counts (and logs, rate-limited) a connection refused at accept or closed at a deadline.
    let countRefusal: @Sendable (ConnectionAdmission.Refusal) -> Void
    let countTimeout: @Sendable (ConnectionStage) -> Void
    /// Counts (and logs, rate-limited) a malformed request, by kind.
    let countBadRequest: @Sendable (String) -> Void
    /// Decides the upgrade: a session id, or the refusal to answer with.
    let authorize: @Sendable (HTTPRequestHead) async -> Result<SessionID, AuthRejection>
    let makeSession: SessionFactory

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        // Over a cap: closed at once, without a byte read. (A failed setup future would reach the
        // listening channel as an error and end Hummingbird's accept loop: never fail it.)
        let address = ConnectionAdmission.AddressKey(channel.remoteAddress)
        if let refusal = admission.admit(address) {
            countRefusal(refusal)
            channel.close(promise: nil)
            return channel.eventLoop.makeSucceededFuture(
                Value(upgradeResult: channel.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel), channel: channel))
        }
        let admission = self.admission
        channel.closeFuture.whenComplete { _ in admission.release(address) }
        return channel.eventLoop.makeCompletedFuture {
            let timedOut = self.countTimeout
            try channel.pipeline.syncOperations.addHandler(
                HandshakeDeadlineHandler(timeout: TimeAmount(limits.handshakeTimeout), onTimeout: timedOut),
                name: HandshakeDeadlineHandler.name)
            let requestTimeout = TimeAmount(limits.requestTimeout), idleTimeout = TimeAmount(limits.idleTimeout)
            if let tls {
                try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.context))
            }
            let secure = tls != nil
            let accepted = NIOLockedValueBox<SessionID?>(nil)
            let refused = NIOLockedValueBox<AuthRejection?>(nil)
            let authorize = self.authorize
            let maxFrameSize = self.maxFrameSize
            let makeSession = self.makeSession
            let upgrader = NIOTypedWebSocketServerUpgrader<UpgradeResult>(
                maxFrameSize: maxFrameSize,
                enableAutomaticErrorHandling: true,
                shouldUpgrade: { channel, head in
                    let promise = channel.eventLoop.makePromise(of: HTTPHeaders?.self)
                    promise.completeWithTask {
                        switch await authorize(head) {
                        case .success(let session):
                            accepted.withLockedValue { $0 = session }
                            return HTTPHeaders()
                        case .failure(let rejection):
                            refused.withLockedValue { $0 = rejection }
                            return nil
                        }
                    }
                    return promise.futureResult
                },
                // No NIOAsyncChannel here: the session's handler takes frames on the event
                // loop, so an idle connection holds no task and no async stream machinery.
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        guard let session = accepted.withLockedValue({ $0 }) else {
                            throw ChannelError.inappropriateOperationForState
                        }
                        // A session: its liveness is now the pings' business (SessionLiveness).
                        channel.pipeline.syncOperations.removeHandler(name: HandshakeDeadlineHandler.name, promise: nil)
                        channel.pipeline.syncOperations.removeHandler(name: HTTPErrorCatcher.name, promise: nil)
                        try channel.pipeline.syncOperations.addHandler(
                            NIOWebSocketFrameAggregator(
                                minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 4096,
                                maxAccumulatedFrameSize: maxFrameSize))
                        let connection = makeSession(channel, session)
                        try channel.pipeline.syncOperations.addHandler(SessionChannelHandler(connection: connection))
                        return UpgradeResult.websocket(connection)
                    }
                }
            )
            let serverUpgrade = NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        channel.pipeline.syncOperations.removeHandler(name: HandshakeDeadlineHandler.name, promise: nil)
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: secure))
                        try channel.pipeline.syncOperations.addHandler(
                            HTTPDeadlineHandler(requestTimeout: requestTimeout, idleTimeout: idleTimeout, onTimeout: timedOut))
                        // Its idle timer is ours (HTTPDeadlineHandler); it still closes after the answer on shutdown.
                        try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
                        let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(isOutboundHalfClosureEnabled: true))
                        if let rejection = refused.withLockedValue({ $0 }) { return UpgradeResult.rejected(asyncChannel, rejection) }
                        return UpgradeResult.notUpgraded(asyncChannel)
                    }
                }
            )
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<UpgradeResult>(upgradeConfiguration: serverUpgrade)
            configuration.enablePipelining = false
            configuration.enableErrorHandling = false
            configuration.enableResponseHeaderValidation = false
            try? channel.syncOptions?.setOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            // A 1 KiB first read buffer (NIO's default is 2 KiB) holds an upgrade request, and
            // a copy of it stays with every idle session; busy connections grow it as needed.
            try? channel.syncOptions?.setOption(
                ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 1024, maximum: 65536))
            let countBadRequest = self.countBadRequest
            try channel.pipeline.syncOperations.addHandler(RequestLineGuard(onRefusal: { countBadRequest("uri_too_long") }))
            let result = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            let upgradeHandler = try channel.pipeline.syncOperations.handler(type: NIOTypedHTTPServerUpgradeHandler<UpgradeResult>.self)
            try channel.pipeline.syncOperations.addHandler(UpgradeHeaderFilter(), position: .before(upgradeHandler))
            try channel.pipeline.syncOperations.addHandler(
                HTTPErrorCatcher(
                    rejectUpgrade: { text in refused.withLockedValue { $0 = AuthRejection(status: .internalServerError, text: text) } },
                    onBadRequest: { countBadRequest("\($0)") }),
                name: HTTPErrorCatcher.name)
            return Value(upgradeResult: result, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.upgradeResult.get() {
            case .notUpgraded(let http):
                await handleHTTP(asyncChannel: http, logger: logger)
            case .websocket(let connection):
                // Registers the session and returns: the connection then lives on the event
                // loop, and nothing in the server closes the channel when this task ends.
                await connection.open()
            case .rejected(let http, let rejection):
                logger.debug("upgrade refused", metadata: ["status": "\(rejection.status.code)", "reason": "\(rejection.text)"])
                await writeRejection(rejection, on: http)
            }
        } catch {
            logger.debug("connection ended before a request was handled", metadata: ["error": "\(error)"])
        }
    }

    /// Answers a refused upgrade (the request's body, if any, is not read) and closes.
    private func writeRejection(_ rejection: AuthRejection, on channel: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>) async {
        try? await channel.executeThenClose { _, outbound in
            let body = ByteBuffer(string: rejection.text)
            let head = HTTPResponse(status: rejection.status, headerFields: [
                .connection: "close", .contentType: "text/plain; charset=utf-8", .contentLength: "\(body.readableBytes)",
            ])
            try await outbound.write(contentsOf: [.head(head), .body(body), .end(nil)])
        }
    }
}
