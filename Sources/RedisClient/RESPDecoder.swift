import NIOCore

/// Inbound: turns the bytes Redis sends into `RedisReply` values, one `channelRead` per reply,
/// with hiredis' reader doing the parsing. Malformed input fires `RedisError.protocolError` (the
/// `RedisChannelHandler` then fails the pending calls and closes) and everything after it is
/// ignored, since the stream can no longer be split into replies.
final class RESPDecoder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = RedisReply

    private var reader: HiredisReader?
    private var failed = false

    func handlerAdded(context: ChannelHandlerContext) {
        do {
            reader = try HiredisReader()
        } catch {
            fail(error, context: context)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed, let reader else { return }
        let buffer = Self.unwrapInboundIn(data)
        do {
            try buffer.withUnsafeReadableBytes { bytes in try reader.feed(bytes) }
            while !failed, let reply = try reader.next() {
                context.fireChannelRead(Self.wrapInboundOut(reply))
            }
        } catch {
            fail(error as? RedisError ?? .protocolError("\(error)"), context: context)
        }
    }

    private func fail(_ error: RedisError, context: ChannelHandlerContext) {
        failed = true
        context.fireErrorCaught(error)
    }
}
