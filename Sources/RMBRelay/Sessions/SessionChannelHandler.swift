import Logging
import NIOCore
import NIOWebSocket

/// The last handler of an upgraded WebSocket pipeline: hands frames and the socket's close to
/// the `SessionConnection` on the event loop (no task waits for them), pauses reading while the
/// connection has too many frames waiting, and closes the socket on a read error.
final class SessionChannelHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame

    private let connection: SessionConnection

    init(connection: SessionConnection) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.session.heard()
        if connection.receive(.frame(unwrapInboundIn(data))) {
            try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        _ = connection.receive(.closed)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case ChannelEvent.inputClosed:
            // The peer will send nothing more; frames read so far are still processed.
            context.close(promise: nil)
        case is ChannelShouldQuiesceEvent:
            // The server is shutting down gracefully.
            context.close(promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let core = connection.core
        let metadata: Logger.Metadata = ["session": "\(connection.session.id)", "max": "\(core.configuration.maxFrameSize)"]
        switch error {
        case NIOWebSocketError.invalidFrameLength:
            // NIO's protocol error handler has already sent close 1009 (message too big).
            core.metrics.badInput("oversized_frame")
            core.logThrottle.log("bad-input.frame-size", level: .info, "frame over --max-frame-size: closing the connection (1009)",
                                 metadata: metadata, to: core.logger)
        case NIOWebSocketFrameAggregator.Error.accumulatedFrameSizeIsTooLarge:
            core.metrics.badInput("oversized_frame")
            core.logThrottle.log("bad-input.message-size", level: .info, "fragmented message over --max-frame-size: closing the connection",
                                 metadata: metadata, to: core.logger)
        default:
            connection.logger.debug("read failed", metadata: ["error": "\(error)"])
        }
        context.close(promise: nil)
    }
}
