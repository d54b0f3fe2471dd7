import NIOCore
import NIOHTTPTypes

/// Which deadline closed a connection (the `stage` of `relay_connection_timeouts_total`).
enum ConnectionStage: String, Sendable {
    case handshake, request, idle, ping
}

/// The first handler of every accepted connection: closes it unless, within the handshake
/// timeout, it became a WebSocket session or delivered a complete HTTP request head. The relay
/// removes it at either of those moments (`RelayChannel`); anything slower — a socket that never
/// sends, a TLS handshake or a request head trickled byte by byte — is closed when it fires.
final class HandshakeDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    static let name = "rmb.handshake-deadline"

    private let timeout: TimeAmount
    private let onTimeout: @Sendable (ConnectionStage) -> Void
    private var scheduled: Scheduled<Void>?

    init(timeout: TimeAmount, onTimeout: @escaping @Sendable (ConnectionStage) -> Void) {
        self.timeout = timeout
        self.onTimeout = onTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let onTimeout = self.onTimeout
        scheduled = context.eventLoop.scheduleTask(in: timeout) {
            onTimeout(.handshake)
            loopBound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        scheduled?.cancel()
        scheduled = nil
    }
}

/// Deadlines of a plain HTTP connection (after the handshake stage): a request's body must be
/// complete within the request timeout of its head, and a connection with no request in
/// progress closes after the idle timeout. Unlike a read-idle timer, a body trickled a byte at a
/// time does not keep the connection alive.
final class HTTPDeadlineHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let requestTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let onTimeout: @Sendable (ConnectionStage) -> Void
    private var scheduled: Scheduled<Void>?

    init(requestTimeout: TimeAmount, idleTimeout: TimeAmount, onTimeout: @escaping @Sendable (ConnectionStage) -> Void) {
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
        self.onTimeout = onTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: arm(.request, in: requestTimeout, context: context)
        case .end: disarm()   // the request is in; the server's answer is not the client's to hurry
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { arm(.idle, in: idleTimeout, context: context) }
        context.write(data, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    private func arm(_ stage: ConnectionStage, in timeout: TimeAmount, context: ChannelHandlerContext) {
        disarm()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let onTimeout = self.onTimeout
        scheduled = context.eventLoop.scheduleTask(in: timeout) {
            onTimeout(stage)
            loopBound.value.close(promise: nil)
        }
    }

    private func disarm() {
        scheduled?.cancel()
        scheduled = nil
    }
}
