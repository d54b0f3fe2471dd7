import Logging
import NIOCore
import NIOWebSocket
import RMBProtocol

/// One authenticated WebSocket connection (relay.md §3–4), driven by events rather than by a
/// task per connection: `SessionChannelHandler` hands it frames on the event loop, `open()`
/// registers the session (replacing an older connection of the same id) and delivers its
/// offline stream, and a processing run — a task that exists only while frames are waiting —
/// handles the frames strictly in order: each envelope is routed before the next frame is
/// looked at, so a pong follows everything the peer sent earlier. Outgoing frames go through
/// the session's queue and `SessionWriter`. When the socket closes, the same run cleans up
/// after the frames read before the close: unsent direct frames go to the session's stream,
/// the registration and presence are released. An idle connection holds no task at all.
final class SessionConnection: Sendable {
    let core: RelayCore
    let session: Session
    private let inbound = Locked(InboundQueue())

    init(core: RelayCore, channel: any Channel, id: SessionID) {
        self.core = core
        session = Session(id: id, serial: core.registry.makeSerial(), capacity: core.configuration.outboundBuffer, channel: channel,
                          stopwatch: core.stopwatch)
        session.attachWriter(SessionWriter(core: core, session: session))
    }

    /// Built when something is logged (a logger with metadata per idle connection costs memory).
    var logger: Logger {
        var logger = core.logger
        logger[metadataKey: "session"] = "\(session.id)"
        return logger
    }

    /// Registers the session and delivers its stream; frames read meanwhile wait in the queue.
    /// Runs in the server's connection task, which ends when this returns.
    func open() async {
        let id = session.id
        if core.connections.insert(self) {
            logger.debug("relay shutting down: closing a new connection")
            session.close(with: .goingAway, grace: .seconds(1))
        }
        // The generation first, then the registration here: both replacements, here and across
        // processes, then follow the one order Redis gives. (Registering here first let a
        // connection replaced here while its generation was on its way still claim, with that
        // generation, the session on another process and close the newest connection there.)
        core.registry.expect(id)
        do {
            // Takes the session over from a sibling process too (its older connection closes).
            session.generation = try await core.store.registerPresence(id, ttlSeconds: core.presenceTTLSeconds)
        } catch {
            logger.warning("cannot record presence", metadata: ["error": "\(error)"])
        }
        if let older = core.registry.register(session) {
            if older === session {
                logger.info("a newer connection of this session is registered, here or on another relay process: closing")
            } else {
                logger.debug("replacing older connection of this session")
            }
            older.close(with: .normalClosure)   // replaced: a close frame, not a dropped socket
        }
        logger.debug("session connected")
        if inbound.withLock({ $0.start() }) { startRun() }
        await core.delivery.drain(session)
    }

    /// A frame or the close of the socket (on the event loop); true when reading must pause.
    func receive(_ event: InboundEvent) -> Bool {
        let (run, pause) = inbound.withLock { $0.append(event) }
        if run { startRun() }
        return pause
    }

    private func startRun() {
        Task.detached { await self.process() }
    }

    private func process() async {
        while let events = inbound.withLock({ $0.take() }) {
            resumeReading()
            var stopped = false
            for event in events {
                switch event {
                case .frame(let frame):
                    if stopped { continue }
                    if await !handle(frame) {
                        stopped = true
                        inbound.withLock { $0.stop() }
                    }
                case .closed:
                    await cleanUp()
                }
            }
        }
        resumeReading()
    }

    /// Resumes reading if it was paused (decided on the event loop, where pauses are).
    private func resumeReading() {
        guard inbound.withLock({ $0.paused }) else { return }
        let channel = session.channel
        channel.eventLoop.execute {
            if self.inbound.withLock({ $0.resume() }) {
                // Not reading was our choice: the client's silence meanwhile does not count.
                self.session.heard()
                try? channel.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
            }
        }
    }

    /// false = the connection is being closed: later frames are not processed.
    private func handle(_ frame: WebSocketFrame) async -> Bool {
        switch frame.opcode {
        case .binary:
            return await handleBinary(frame.unmaskedData)
        case .text:
            core.metrics.badInput("text_frame")
            core.logThrottle.log("bad-input.text", level: .debug, "text frame: closing the connection",
                                 metadata: ["session": "\(session.id)"], to: core.logger)
            close(with: .unacceptableData)
            return false
        case .ping:
            session.enqueue(.control(.pong, frame.unmaskedData))
            return true
        case .connectionClose:
            close(with: .normalClosure)
            return false
        default:
            return true
        }
    }

    private func handleBinary(_ data: ByteBuffer) async -> Bool {
        let bytes = Array(data.readableBytesView)
        let envelope: RMBEnvelope
        do { envelope = try RMBEnvelope(wire: bytes) } catch {
            core.metrics.badInput("envelope")
            core.logThrottle.log("bad-input.envelope", level: .info, "undecodable envelope: closing the connection",
                                 metadata: ["session": "\(session.id)", "error": "\(error)"], to: core.logger)
            close(with: .unacceptableData)
            return false
        }
        if let limiter = core.rateLimiter, !limiter.allow(twin: session.id.twin, length: bytes.count, now: unixNow()) {
            core.metrics.rateLimited.increment()
            reply(to: envelope, text: RelayErrorText.rateLimited)
            return true
        }
        if let failure = await core.router.route(envelope, raw: bytes, from: session.id) {
            logger.debug("routing failed", metadata: ["uid": "\(envelope.uid)", "error": "\(failure)"])
            reply(to: envelope, text: failure)
        }
        return true
    }

    private func reply(to envelope: RMBEnvelope, text: String) {
        guard let bytes = ErrorReplies.toSession(envelope, session: session.id, text: text) else { return }
        session.enqueue(.direct(bytes))
    }

    /// Queues a close frame behind everything queued so far; the writer closes the socket once
    /// it has been written (if the session no longer takes frames, the socket just closes).
    private func close(with code: WebSocketErrorCode) {
        session.close(with: code)
    }

    /// After the socket closed and every frame read before was processed.
    private func cleanUp() async {
        let unsent = await session.close()
        for case .direct(let bytes) in unsent {
            do { try await core.router.enqueue(bytes, to: session.id) } catch {
                logger.error("lost a frame: stream fallback failed", metadata: ["error": "\(error)"])
            }
        }
        if core.registry.unregister(session) {
            await core.store.releasePresence(session.id, generation: session.generation)
        }
        core.metrics.evictionsClosed.increment()
        logger.debug("session disconnected")
        core.connections.remove(self)
    }
}
