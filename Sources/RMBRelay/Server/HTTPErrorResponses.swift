import NIOCore
import NIOHTTP1
import NIOWebSocket

/// Malformed HTTP gets its status and a closed socket, never silence (a client that waits for
/// an answer would otherwise hold the socket until a deadline).
enum HTTPErrorResponses {
    /// The status for a request NIO's parser refused.
    static func status(for error: HTTPParserError) -> HTTPResponseStatus {
        switch error {
        case .headerOverflow: .requestHeaderFieldsTooLarge
        // `.paused`: the parser stopped at an HTTP/2 connection preface (`PRI * HTTP/2.0`).
        case .invalidVersion, .paused: .httpVersionNotSupported
        default: .badRequest
        }
    }

    /// A complete `Connection: close` response with a plain-text body, as raw bytes.
    static func raw(_ status: HTTPResponseStatus, _ text: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        let body = text + "\n"
        return allocator.buffer(string: "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\nConnection: close\r\n"
            + "Content-Type: text/plain; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
    }
}

/// Sits in front of the HTTP decoder until the request line has ended: a request line longer
/// than `limit` bytes is answered 414 and closed (NIO's parser would only see a header overflow,
/// 431, after 80 KiB). Removes itself at the first line feed; later requests on a keep-alive
/// connection are bounded by the header limit.
final class RequestLineGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let limit: Int
    private let onRefusal: @Sendable () -> Void
    private var seen = 0
    private var refused = false

    init(limit: Int = 16 << 10, onRefusal: @escaping @Sendable () -> Void) {
        self.limit = limit
        self.onRefusal = onRefusal
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refused { return }
        let buffer = unwrapInboundIn(data)
        if let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            guard seen + (newline - buffer.readerIndex) <= limit else { return refuse(context) }
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        seen += buffer.readableBytes
        guard seen <= limit else { return refuse(context) }
        context.fireChannelRead(data)
    }

    private func refuse(_ context: ChannelHandlerContext) {
        refused = true
        onRefusal()
        let response = HTTPErrorResponses.raw(.uriTooLong, "request target longer than \(limit) bytes", allocator: context.channel.allocator)
        let channel = context.channel
        context.writeAndFlush(NIOAny(response)).whenComplete { _ in channel.close(promise: nil) }
    }
}

/// Placed after the HTTP upgrade handler, before the connection is handed to the HTTP router or
/// becomes a WebSocket: answers a request the parser refused (400, 431, 505) and closes, and
/// turns a WebSocket handshake NIO refused (no `Sec-WebSocket-Key`, a version other than 13)
/// into the answer relay.md §1 gives a handshake error (500 and the protocol error's text),
/// through `rejectUpgrade` (the router then writes it).
final class HTTPErrorCatcher: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart
    static let name = "rmb.http-error-catcher"
    static let handshakeErrorText = "WebSocket protocol error: missing or invalid Sec-WebSocket-Key or Sec-WebSocket-Version (must be 13)"

    private let rejectUpgrade: @Sendable (String) -> Void
    private let onBadRequest: @Sendable (HTTPParserError) -> Void
    private var answered = false
    /// A response head went out and its end has not.
    private var responseStarted = false

    init(rejectUpgrade: @escaping @Sendable (String) -> Void, onBadRequest: @escaping @Sendable (HTTPParserError) -> Void) {
        self.rejectUpgrade = rejectUpgrade
        self.onBadRequest = onBadRequest
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head: responseStarted = true
        case .end: responseStarted = false
        case .body: break
        }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case let upgradeError as NIOWebSocketUpgradeError:
            // `.unsupportedWebSocketTarget` is the token check's refusal, already recorded with its own status.
            if upgradeError == .invalidUpgradeHeader { rejectUpgrade(Self.handshakeErrorText) }
        case HTTPParserError.closedConnection:
            // Bytes after a `Connection: close` request: the connection closes after its answer anyway.
            break
        case let parserError as HTTPParserError:
            guard !answered else { return }
            guard !responseStarted else {
                // A response is on its way (e.g. a second request arrived while the first is
                // answered): no second one in its middle; close.
                answered = true
                onBadRequest(parserError)
                context.close(promise: nil)
                return
            }
            answered = true
            onBadRequest(parserError)
            let status = HTTPErrorResponses.status(for: parserError)
            let body = context.channel.allocator.buffer(string: "bad request: \(parserError.debugDescription)\n")
            var headers = HTTPHeaders()
            headers.add(name: "Connection", value: "close")
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
            headers.add(name: "Content-Length", value: "\(body.readableBytes)")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            context.close(promise: nil)   // now: the router's own answer to this request must not follow
        default:
            context.fireErrorCaught(error)
        }
    }
}

/// A request is a WebSocket upgrade only with both standard headers, `Connection: Upgrade` and
/// `Upgrade: websocket` (relay.md §1); NIO's upgrade handler looks at `Upgrade` alone. Placed in
/// front of it, this drops an `Upgrade` header that `Connection` does not name, so such a
/// request is an ordinary HTTP request. Only the first request can upgrade: it removes itself
/// after that request's head.
final class UpgradeHeaderFilter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else { return context.fireChannelRead(data) }
        let connectionTokens = head.headers[canonicalForm: "connection"].map { $0.lowercased() }
        if head.headers.contains(name: "upgrade") && !connectionTokens.contains("upgrade") {
            head.headers.remove(name: "upgrade")
        }
        context.fireChannelRead(wrapInboundOut(.head(head)))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
