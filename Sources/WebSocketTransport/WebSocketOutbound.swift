import NIOCore
import NIOWebSocket
import WSCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The sending side of a client session from ``WebSocketConnector``: swift-websocket's own
/// writer (``writer``: text messages, the close handshake), and ``write(binary:)`` for the hot
/// path, which writes binary messages straight to the channel.
///
/// Why a second way to write: swift-websocket's writer takes one frame per call, through its
/// session actor and the async channel's writer, and flushes each one (a `writev` per frame);
/// and it draws each frame's mask from four system random calls (four `getrandom` syscalls).
/// A relay session writes a batch of envelopes at a time, so ``write(binary:)`` hands the whole
/// batch to the event loop in one task and flushes once, with masks from the C library's
/// `arc4random` (a CSPRNG in user space, as RFC 6455 §5.3 asks for unpredictable masks).
/// Both ways write to the same channel; frames keep the order in which their writes reached
/// the event loop.
///
/// ```swift
/// try await WebSocketConnector.connect(url: url, configuration: .init(), tlsConfiguration: nil, logger: logger) { inbound, outbound in
///     try await outbound.write(binary: [ByteBuffer(bytes: [1, 2, 3]), ByteBuffer(bytes: [4])])
///     try await outbound.writer.close(.normalClosure, reason: nil)
/// }
/// ```
public struct WebSocketOutbound: Sendable {
    /// swift-websocket's writer for this session: text messages, control frames and close.
    public let writer: WebSocketOutboundWriter
    private let binary: BinaryFrameWriter

    init(writer: WebSocketOutboundWriter, channel: any Channel) {
        self.writer = writer
        self.binary = BinaryFrameWriter(channel: channel)
    }

    /// Writes each message as one binary frame, all with a single flush. Returns once they are
    /// handed to the channel while it is writable (as swift-websocket's writer does); when its
    /// buffer is over the high-water mark, once the socket took the last of them — so a peer
    /// that does not read holds the caller here, not in a growing buffer, until it reads or the
    /// connection closes (cancellation is checked before the write, not during that wait).
    /// Throws if the connection is closed or the task cancelled; like any socket write, a frame
    /// handed over may still be lost with the connection.
    ///
    /// The frames reach the event loop before the call first suspends, on the caller's own
    /// executor: two calls made one after the other by one actor write in that order.
    nonisolated(nonsending) public func write(binary messages: [ByteBuffer]) async throws {
        try Task.checkCancellation()
        try await binary.enqueue(messages).get()
    }
}

/// The batch write of ``WebSocketOutbound/write(binary:)`` on a client channel whose pipeline
/// ends in a WebSocket frame encoder: every frame is masked, as a client's must be (RFC 6455 §5.1).
struct BinaryFrameWriter: Sendable {
    let channel: any Channel

    /// Hands the messages to the event loop now, as one task that writes them and flushes once;
    /// the future says when they are accepted (see ``WebSocketOutbound/write(binary:)``).
    func enqueue(_ messages: [ByteBuffer]) -> EventLoopFuture<Void> {
        guard !messages.isEmpty else { return channel.eventLoop.makeSucceededVoidFuture() }
        var random = UserSpaceRandom()
        let frames = messages.map { message in
            WebSocketFrame(fin: true, opcode: .binary, maskKey: .random(using: &random), data: message)
        }
        let channel = self.channel
        let written = channel.eventLoop.makePromise(of: Void.self)
        let accepted = channel.eventLoop.makePromise(of: Void.self)
        @Sendable func writeAll() {
            for (index, frame) in frames.enumerated() {
                channel.write(NIOAny(frame), promise: index == frames.count - 1 ? written : nil)
            }
            channel.flush()
            // On a closed channel the write has failed already: its error is the answer.
            if channel.isActive && channel.isWritable { accepted.succeed() } else { written.futureResult.cascade(to: accepted) }
        }
        if channel.eventLoop.inEventLoop { writeAll() } else { channel.eventLoop.execute(writeAll) }
        return accepted.futureResult
    }
}

/// The C library's `arc4random`: cryptographically strong, without a syscall per call.
private struct UserSpaceRandom: RandomNumberGenerator {
    mutating func next() -> UInt64 {
        var value: UInt64 = 0
        arc4random_buf(&value, MemoryLayout<UInt64>.size)
        return value
    }
}
