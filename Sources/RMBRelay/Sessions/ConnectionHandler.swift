import Logging
import NIOCore
import NIOWebSocket
import RMBProtocol

/// Runs one authenticated WebSocket connection (relay.md §3–4): registers the session
/// (replacing an older connection of the same id), delivers its offline stream, reads frames
/// strictly in order (each envelope is routed before the next frame is read, so a pong follows
/// everything sent earlier), and writes every outgoing frame from one writer task.
struct ConnectionHandler: Sendable {
    let core: RelayCore

    func run(_ channel: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, id: SessionID) async {
        let logger = core.logger.with("session", "\(id)")
        let nioChannel = channel.channel
        let session = Session(id: id, serial: core.registry.makeSerial(), capacity: core.configuration.outboundBuffer) {
            nioChannel.close(promise: nil)
        }
        if let old = core.registry.register(session) {
            logger.debug("replacing older connection of this session")
            old.terminate()
        }
        core.metrics.connections.record(core.registry.count)
        defer { core.metrics.connections.record(core.registry.count) }
        do {
            // Takes the session over from a sibling process too (its older connection closes).
            let generation = try await core.store.registerPresence(id, ttlSeconds: core.presenceTTLSeconds)
            if session.setGeneration(generation) {
                logger.info("a newer connection of this session registered on another relay process: closing")
                session.terminate()
            }
        } catch {
            logger.warning("cannot record presence", metadata: ["error": "\(error)"])
        }
        logger.debug("session connected")
        do {
            try await channel.executeThenClose { inbound, outbound in
                // Writer runs are detached tasks started when frames are queued (no task-local
                // copies, no task at all while the session is idle).
                session.attachWriter { run in
                    Task.detached {
                        await writeLoop(session, run: run, outbound: outbound, logger: logger)
                        session.writerEnded(run: run)
                    }
                }
                // Discarding: the connect-time drain task is released as soon as it ends,
                // instead of being kept (with its task stack) until the session closes.
                await withDiscardingTaskGroup { group in
                    group.addTask { await core.delivery.drain(session) }
                    await readLoop(session, inbound: inbound, logger: logger)
                    let unsent = session.close()
                    await fallBack(unsent, session: session, logger: logger)
                    group.cancelAll()
                }
                await session.stopWriter()
            }
        } catch {
            logger.debug("connection closed with error", metadata: ["error": "\(error)"])
        }
        let unsent = session.close()
        await fallBack(unsent, session: session, logger: logger)
        if core.registry.unregister(session) {
            await core.store.releasePresence(id)
        }
        core.metrics.evictionsClosed.increment()
        logger.debug("session disconnected")
    }

    private func readLoop(_ session: Session, inbound: NIOAsyncChannelInboundStream<WebSocketFrame>, logger: Logger) async {
        do {
            for try await frame in inbound {
                switch frame.opcode {
                case .binary:
                    guard await handleBinary(frame.unmaskedData, session: session, logger: logger) else { return }
                case .text:
                    logger.debug("text frame: closing the connection")
                    session.enqueue(.control(.connectionClose, closeBody(.unacceptableData)))
                    return
                case .ping:
                    session.enqueue(.control(.pong, frame.unmaskedData))
                case .connectionClose:
                    session.enqueue(.control(.connectionClose, closeBody(.normalClosure)))
                    return
                default:
                    continue
                }
            }
        } catch NIOWebSocketError.invalidFrameLength {
            // NIO's protocol error handler has already sent close 1009 (message too big).
            logger.info("frame over --max-frame-size: closing the connection (1009)", metadata: ["max": "\(core.configuration.maxFrameSize)"])
        } catch NIOWebSocketFrameAggregator.Error.accumulatedFrameSizeIsTooLarge {
            logger.info("fragmented message over --max-frame-size: closing the connection", metadata: ["max": "\(core.configuration.maxFrameSize)"])
        } catch {
            logger.debug("read failed", metadata: ["error": "\(error)"])
        }
    }

    /// false = close the connection.
    private func handleBinary(_ data: ByteBuffer, session: Session, logger: Logger) async -> Bool {
        let bytes = Array(data.readableBytesView)
        let envelope: RMBEnvelope
        do { envelope = try RMBEnvelope(wire: bytes) } catch {
            logger.info("undecodable envelope: closing the connection", metadata: ["error": "\(error)"])
            session.enqueue(.control(.connectionClose, closeBody(.unacceptableData)))
            return false
        }
        if let limiter = core.rateLimiter, !limiter.allow(twin: session.id.twin, length: bytes.count, now: unixNow()) {
            core.metrics.rateLimited.increment()
            reply(to: envelope, session: session, text: RelayErrorText.rateLimited)
            return true
        }
        if let failure = await core.router.route(envelope, raw: bytes, from: session.id) {
            logger.debug("routing failed", metadata: ["uid": "\(envelope.uid)", "error": "\(failure)"])
            reply(to: envelope, session: session, text: failure)
        }
        return true
    }

    private func reply(to envelope: RMBEnvelope, session: Session, text: String) {
        guard let bytes = ErrorReplies.toSession(envelope, session: session.id, text: text) else { return }
        session.enqueue(.direct(bytes))
    }

    private func writeLoop(_ session: Session, run: UInt64, outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>, logger: Logger) async {
        let allocator = ByteBufferAllocator()
        while let batch = session.takeBatch(run: run) {
            var frames: [WebSocketFrame] = []
            frames.reserveCapacity(batch.count)
            var storedIDs: [String] = []
            var closing = false
            for item in batch {
                switch item {
                case .direct(let bytes):
                    frames.append(WebSocketFrame(fin: true, opcode: .binary, data: allocator.buffer(bytes: bytes)))
                case .stored(let id, let bytes):
                    frames.append(WebSocketFrame(fin: true, opcode: .binary, data: allocator.buffer(bytes: bytes)))
                    storedIDs.append(id)
                case .control(let opcode, let data):
                    frames.append(WebSocketFrame(fin: true, opcode: opcode, data: data))
                    if opcode == .connectionClose { closing = true }
                }
            }
            do {
                try await outbound.write(contentsOf: frames)
            } catch {
                logger.debug("write failed", metadata: ["error": "\(error)"])
                // Direct frames were never stored: put them in the stream so nothing is lost.
                let unsent = batch + session.close()
                await fallBack(unsent, session: session, logger: logger)
                session.terminate()
                return
            }
            for frame in frames where frame.opcode == .binary { core.metrics.sent(bytes: frame.data.readableBytes) }
            if !storedIDs.isEmpty {
                do { try await core.store.delete(session.id, ids: storedIDs) } catch {
                    logger.warning("XDEL failed (entries will be delivered again on reconnect)", metadata: ["error": "\(error)"])
                }
            }
            if closing {
                outbound.finish()
                session.terminate()
                return
            }
        }
    }

    /// Frames queued for a session that went away: direct ones are written to its stream.
    private func fallBack(_ items: [Outgoing], session: Session, logger: Logger) async {
        for case .direct(let bytes) in items {
            do { try await core.router.enqueue(bytes, to: session.id) } catch {
                logger.error("lost a frame: stream fallback failed", metadata: ["error": "\(error)"])
            }
        }
    }

    private func closeBody(_ code: WebSocketErrorCode) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 2)
        buffer.write(webSocketErrorCode: code)
        return buffer
    }
}

extension Logger {
    func with(_ key: String, _ value: String) -> Logger {
        var copy = self
        copy[metadataKey: key] = .string(value)
        return copy
    }
}
