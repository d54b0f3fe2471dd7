import Foundation
import HummingbirdWSClient
import LocalProcesses
import Logging
import NIOCore
import NIOSSL
import NIOWebSocket
import RMBProtocol

/// A WebSocket client for tests: frames received go to `next()`, `send` writes binary frames.
final class TestPeer: @unchecked Sendable {
    private let inbox: AsyncStream<[UInt8]>
    private var iterator: AsyncStream<[UInt8]>.AsyncIterator
    private let outbox: AsyncStream<WebSocketOutboundWriter.OutboundFrame>.Continuation
    private let task: Task<Void, Never>
    private let closedFlag: LockedFlag
    private let closeCodeBox: CloseCodeBox

    var isClosed: Bool { closedFlag.value }
    /// The code of the relay's close frame, once the connection has ended (nil: none sent).
    var closeCode: WebSocketErrorCode? { closeCodeBox.value }

    private init(inbox: AsyncStream<[UInt8]>, outbox: AsyncStream<WebSocketOutboundWriter.OutboundFrame>.Continuation, task: Task<Void, Never>,
                 closed: LockedFlag, closeCode: CloseCodeBox) {
        self.inbox = inbox
        self.iterator = inbox.makeAsyncIterator()
        self.outbox = outbox
        self.task = task
        self.closedFlag = closed
        self.closeCodeBox = closeCode
    }

    /// Connects and waits for the upgrade; throws if the relay refuses it (or, over `wss://`,
    /// if `tls` — default: NIOSSL's client defaults — does not trust its certificate).
    static func connect(_ url: String, token: String, tls: TLSConfiguration? = nil) async throws -> TestPeer {
        let (inbox, inboxContinuation) = AsyncStream<[UInt8]>.makeStream()
        let (outboxStream, outbox) = AsyncStream<WebSocketOutboundWriter.OutboundFrame>.makeStream()
        let (ready, readyContinuation) = AsyncStream<Bool>.makeStream()
        let closed = LockedFlag()
        let closeCode = CloseCodeBox()
        var logger = Logger(label: "test.peer")
        logger.logLevel = .critical
        let task = Task {
            do {
                let frame = try await WebSocketClient.connect(
                    url: url + "?" + token, configuration: .init(maxFrameSize: 1 << 24), tlsConfiguration: tls, logger: logger
                ) { inbound, outbound, _ in
                    readyContinuation.yield(true)
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask {
                            do {
                                for try await message in inbound.messages(maxSize: 1 << 24) {
                                    if case .binary(let buffer) = message { inboxContinuation.yield(Array(buffer.readableBytesView)) }
                                }
                            } catch {}
                            closed.set()
                            inboxContinuation.finish()
                        }
                        group.addTask {
                            for await frame in outboxStream { try? await outbound.write(frame) }
                        }
                        await group.next()
                        group.cancelAll()
                    }
                }
                closeCode.set(frame?.closeCode)
            } catch {}
            closeCode.finish()
            closed.set()
            readyContinuation.yield(false)
            inboxContinuation.finish()
        }
        let readyBox = BoolIteratorBox(ready.makeAsyncIterator())
        let ok = try await withDeadline(.seconds(10)) { await readyBox.next() ?? false }
        guard ok else { throw PeerError.refused }
        return TestPeer(inbox: inbox, outbox: outbox, task: task, closed: closed, closeCode: closeCode)
    }

    enum PeerError: Error { case refused, closed }

    func send(_ envelope: RMBEnvelope) throws {
        send(bytes: try envelope.wireBytes())
    }

    func send(bytes: [UInt8]) {
        outbox.yield(.binary(ByteBuffer(bytes: bytes)))
    }

    func sendText(_ text: String) { outbox.yield(.text(text)) }

    /// The next frame, or a TimeoutError.
    func nextBytes(timeout: Duration = .seconds(5)) async throws -> [UInt8] {
        let box = IteratorBox(iterator)
        let value = try await withDeadline(timeout) { await box.next() }
        iterator = box.iterator
        guard let value else { throw PeerError.closed }
        return value
    }

    func next(timeout: Duration = .seconds(5)) async throws -> RMBEnvelope {
        try RMBEnvelope(wire: try await nextBytes(timeout: timeout))
    }

    /// Sends an envelope ping as `twin` (`sid`) and waits for its pong: the relay handles a
    /// connection's frames in order, so the pong proves it accepted everything sent before (and
    /// that this connection is registered). Other frames received meanwhile are skipped.
    func confirm(twin: UInt32, sid: String? = nil, timeout: Duration = .seconds(10)) async throws {
        var ping = RMBEnvelope()
        ping.uid = "confirm-\(UUID().uuidString)"
        ping.source = RMBAddress(twin: twin, connection: sid)
        ping.message = .ping(RMBPing())
        try send(ping)
        while try await next(timeout: timeout).uid != ping.uid {}
    }

    /// Waits until the relay closes this connection.
    func waitClosed(timeout: Duration = .seconds(5)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !isClosed {
            if ContinuousClock.now > deadline { throw TimeoutError() }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits until the client has returned and gives the relay's close code (nil: none).
    func waitCloseCode(timeout: Duration = .seconds(10)) async throws -> WebSocketErrorCode? {
        let deadline = ContinuousClock.now + timeout
        while !closeCodeBox.finished {
            if ContinuousClock.now > deadline { throw TimeoutError() }
            try await Task.sleep(for: .milliseconds(20))
        }
        return closeCodeBox.value
    }

    func close() async {
        outbox.finish()
        task.cancel()
        _ = await task.value
    }
}

/// The close code a connection ended with; `finished` once the client returned.
final class CloseCodeBox: @unchecked Sendable {
    private let lock = NSLock()
    private var code: WebSocketErrorCode?
    private var done = false
    var value: WebSocketErrorCode? { lock.withLock { code } }
    var finished: Bool { lock.withLock { done } }
    func set(_ code: WebSocketErrorCode?) { lock.withLock { self.code = code } }
    func finish() { lock.withLock { done = true } }
}

final class LockedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    var value: Bool { lock.withLock { flag } }
    func set() { lock.withLock { flag = true } }
}

final class IteratorBox: @unchecked Sendable {
    var iterator: AsyncStream<[UInt8]>.AsyncIterator
    init(_ iterator: AsyncStream<[UInt8]>.AsyncIterator) { self.iterator = iterator }
    func next() async -> [UInt8]? { await iterator.next() }
}

final class BoolIteratorBox: @unchecked Sendable {
    var iterator: AsyncStream<Bool>.AsyncIterator
    init(_ iterator: AsyncStream<Bool>.AsyncIterator) { self.iterator = iterator }
    func next() async -> Bool? { await iterator.next() }
}
