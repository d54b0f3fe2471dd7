import NIOCore
import NIOEmbedded
import NIOPosix
import NIOWebSocket
import Synchronization
import Testing
@testable import WebSocketTransport

/// ``WebSocketOutbound/write(binary:)`` (its ``BinaryFrameWriter``), the relay session's batch
/// write, on an embedded channel: what reaches the frame encoder, and how many flushes.
@Suite("WebSocketOutbound: a batch of binary messages")
struct WebSocketOutboundTests {
    /// Counts the flushes that pass it on their way to the socket.
    final class FlushCounter: ChannelOutboundHandler, Sendable {
        typealias OutboundIn = WebSocketFrame
        let flushes = Atomic<Int>(0)
        func flush(context: ChannelHandlerContext) {
            flushes.add(1, ordering: .relaxed)
            context.flush()
        }
    }

    /// A connected embedded channel with the counter, and the batch writer on it.
    private func connected() async throws -> (EmbeddedChannel, FlushCounter, BinaryFrameWriter) {
        let counter = FlushCounter()
        let channel = EmbeddedChannel(handler: counter)
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).get()
        return (channel, counter, BinaryFrameWriter(channel: channel))
    }

    private func frames(_ channel: EmbeddedChannel) throws -> [WebSocketFrame] {
        var frames: [WebSocketFrame] = []
        while let frame = try channel.readOutbound(as: WebSocketFrame.self) { frames.append(frame) }
        return frames
    }

    @Test("each message is one final binary frame, in order, with one flush for the batch")
    func oneFlushPerBatch() async throws {
        let (channel, counter, outbound) = try await connected()
        let messages = (0..<5).map { ByteBuffer(bytes: [UInt8](repeating: UInt8($0), count: 10 + $0)) }
        try await outbound.enqueue(messages).get()
        try await outbound.enqueue([ByteBuffer(bytes: [42])]).get()

        let written = try frames(channel)
        #expect(written.map(\.data) == messages + [ByteBuffer(bytes: [42])])
        #expect(written.allSatisfy { $0.fin && $0.opcode == .binary })
        #expect(counter.flushes.load(ordering: .relaxed) == 2)
        _ = try? channel.finish()
    }

    @Test("every frame is masked, each with its own key")
    func masking() async throws {
        let (channel, _, outbound) = try await connected()
        try await outbound.enqueue((0..<64).map { ByteBuffer(bytes: [UInt8($0)]) }).get()
        let keys = try frames(channel).map(\.maskKey)
        #expect(keys.allSatisfy { $0 != nil })
        // 64 random 32-bit keys: a repeat would mean they are not drawn per frame.
        #expect(Set(keys.compactMap { $0.map { Array($0) } }).count == 64)
        _ = try? channel.finish()
    }

    @Test("nothing to write writes and flushes nothing")
    func empty() async throws {
        let (channel, counter, outbound) = try await connected()
        try await outbound.enqueue([]).get()
        #expect(counter.flushes.load(ordering: .relaxed) == 0)
        #expect(try frames(channel).isEmpty)
        _ = try? channel.finish()
    }

    @Test("on a closed connection (a real socket) the write throws")
    func closedConnection() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let server = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        let client = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(WebSocketFrameEncoder()) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let outbound = BinaryFrameWriter(channel: client)
        try await outbound.enqueue([ByteBuffer(bytes: [1])]).get()
        try await client.close().get()
        await #expect(throws: ChannelError.self) { try await outbound.enqueue([ByteBuffer(bytes: [2])]).get() }
        try await server.close().get()
    }
}
