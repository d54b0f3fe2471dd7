import Foundation
import Synchronization
import HummingbirdWSClient
import TLSSupport
import WebSocketTransport
import Logging
import ProcessLifecycle
import NIOCore
import RMBProtocol
import TwinDirectory

/// One long-lived session to one relay: connects with a fresh JWT each time, reconnects with
/// jittered backoff, detects dead or half-open connections with WebSocket pings, and confirms
/// batches of envelopes.
///
/// Confirmation needs no protocol change: a relay handles the frames of one connection in order
/// and answers an envelope `ping` with a `pong` (envelope.md §6), so a pong that comes back after
/// a batch proves the relay accepted every frame written before the ping. Batches written within
/// ``Configuration/confirmationWindow`` of each other share one ping: a ping and a pong per batch
/// doubled what a relay handles for a peer that sends a message every few milliseconds, and
/// woke both ends once more per message.
public actor RelayConnection {
    public struct Configuration: Sendable {
        /// Liveness period: a connection that heard nothing for one period sends an envelope
        /// ping; one whose ping then goes unanswered for a period (nothing heard since it was
        /// sent) is closed and reconnected, so a dead relay is noticed within three periods. Time the peer spends not reading
        /// (its downstream is full: back-pressure) does not count — see ``keepalive(_:)``.
        public var keepalive: Duration = .seconds(3)
        public var confirmationTimeout: Duration = .seconds(5)
        public var minimumBackoff: Duration = .milliseconds(200)
        public var maximumBackoff: Duration = .seconds(10)
        public var maximumFrameSize: Int = 4 << 20
        /// From connecting to the WebSocket upgrade's answer: a relay that accepts the TCP
        /// connection and never answers (hung, frozen) is given up on and tried again.
        public var handshakeTimeout: Duration = .seconds(10)
        /// When an unconfirmed batch also goes through the next relay (``RelayPool``).
        public var hedge = HedgePolicy()
        /// How long the ping that confirms a batch may wait for later batches to share it: at a
        /// steady trickle of a message every few milliseconds, one ping and one pong then stand
        /// for several batches. A batch's confirmation comes up to this much later, which only
        /// what waits for confirmations sees (the hedge deadline allows for it); messages are
        /// written at once. Zero writes a ping after every batch.
        public var confirmationWindow: Duration = .milliseconds(5)
        /// The ping goes at once when this many batches wait for it: a busy peer's batches are
        /// not held for the window. Keep it below the batches a sender keeps in flight (the
        /// peer engine's postman: 8), or the sender waits for the window.
        public var batchesPerPing = 4
        public init() {}
    }

    public nonisolated let relay: RelayAddress
    private let peer: RMBAddress
    private let token: @Sendable () throws -> String
    private let configuration: Configuration
    private let deliver: @Sendable (InboundFrame) async -> Void
    private let logger: Logger
    /// Runs the confirmation sweep, the handshake timeout and the back-off.
    private let clock: any Clock<Duration>
    /// Time on `clock` since this connection was made: deadlines, round trips, `silentSince`.
    private let stopwatch: Stopwatch

    /// The current connection's sending side; nil while not connected.
    private var outbound: WebSocketOutbound?
    private var generation: UInt64 = 0
    private var health: RelayHealth
    /// Envelope pings by uid, each with the batches it confirms, until every batch heard its outcome.
    private var confirmations: [String: PendingConfirmation] = [:]
    /// The confirmation that later batches join: its ping is not written yet.
    private var openConfirmation: String?
    private var counter: UInt64 = 0
    private let confirmationPrefix: String
    /// Uids of the keepalive's heartbeats (envelope pings nobody waits for).
    private let heartbeatPrefix: String
    /// A probe (a batch of nothing but the envelope ping) is on its way to a silent relay.
    private var probing = false
    /// Set by ``shutdown()``: the session is closing for good, no reconnect.
    private var stopping = false
    /// When (``now``) the current connection last read a frame, or resumed reading.
    private var lastHeard: Duration = .zero
    /// A read frame is being handed on and the handover waits (the peer's inbound buffer is
    /// full): the socket is not read meanwhile, so the relay's silence proves nothing.
    private var delivering = false
    /// When (``now``) the keepalive sent its envelope ping, while nothing was heard since.
    private var keepaliveProbeSentAt: Duration?

    public init(relay: RelayAddress, peer: RMBAddress, configuration: Configuration = .init(),
                clock: any Clock<Duration> = EventLoopClock(), logger: Logger,
                token: @escaping @Sendable () throws -> String,
                deliver: @escaping @Sendable (InboundFrame) async -> Void) {
        self.relay = relay
        self.clock = clock
        self.stopwatch = Stopwatch(clock)
        self.peer = peer
        self.configuration = configuration
        self.logger = logger
        self.token = token
        self.deliver = deliver
        self.health = RelayHealth(relay: relay)
        let instance = UUID().uuidString.prefix(8).lowercased()
        self.confirmationPrefix = "rmb-swift-confirm-\(instance)-"
        self.heartbeatPrefix = "rmb-swift-heartbeat-\(instance)-"
    }

    public var status: RelayHealth { health }

    /// Time on the connection's clock since it was made.
    private var now: Duration { stopwatch.elapsed() }

    /// How long a batch may wait for this relay's confirmation before it is hedged.
    public var hedgeDeadline: Duration {
        configuration.hedge.deadline(recent: health.roundTrips.recent, ceiling: configuration.confirmationTimeout)
            + configuration.confirmationWindow
    }

    public nonisolated var hedging: HedgePolicy { configuration.hedge }

    /// A batch's confirmation passed its hedge deadline: the relay is silent (demoted, probed)
    /// until a confirmation comes back.
    public func confirmationOverdue(hedgedThrough other: RelayAddress?) {
        if other != nil { health.hedges += 1 }
        guard health.state == .connected, health.silentSince == nil else { return }
        health.silentSince = now
        logger.warning("relay silent: confirmation overdue, sending through the next relay meanwhile",
                       metadata: ["relay": "\(relay)", "deadline": "\(hedgeDeadline)", "through": "\(other.map { "\($0)" } ?? "none")"])
    }

    // MARK: Connection loop

    /// Runs until the task is cancelled.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.watchConfirmations() }
            await self.connectionLoop()
            group.cancelAll()
        }
    }

    /// Fails batches whose pong is overdue. One loop per connection instead of a timer task per
    /// batch: a busy peer confirms hundreds of batches a second.
    private func watchConfirmations() async {
        let period = min(configuration.confirmationTimeout / 4, .milliseconds(250))
        while !Task.isCancelled {
            try? await clock.sleep(for: period, tolerance: nil)
            expireOverdue(now: now)
        }
    }

    private func expireOverdue(now: Duration) {
        probeIfSilent()
        guard !confirmations.isEmpty else { return }
        for (uid, confirmation) in confirmations where confirmation.outcome == nil && confirmation.deadline <= now {
            health.recordFailure("confirmation timeout")
            settle(uid, .failure(.confirmationTimeout(relay)))
        }
    }

    /// A silent relay with nothing of ours in flight gets a probe: its pong promotes it again
    /// (``RelayHealth/recordSuccess(roundTrip:)``); a relay that stays silent is closed by the
    /// keepalive (``keepalive(_:)``).
    private func probeIfSilent() {
        guard health.silentSince != nil, confirmations.isEmpty, !probing, outbound != nil else { return }
        probing = true
        Task {
            _ = try? await self.sendConfirmed([])
            self.probeFinished()
        }
    }

    private func probeFinished() {
        probing = false
        if health.silentSince == nil { logger.info("relay answers again: promoted", metadata: ["relay": "\(relay)"]) }
    }

    /// Ends the session politely and for good: a close frame (1001, going away) instead of a
    /// dropped socket, and no reconnect. ``run()`` returns once the relay answers the close (or
    /// the WebSocket close timeout passes); a connection still being set up is left to the
    /// caller's cancellation.
    public func shutdown() async {
        stopping = true
        guard let outbound else { return }
        try? await outbound.writer.close(.goingAway, reason: "peer shutting down")
    }

    private func connectionLoop() async {
        var failures = 0
        var lastLogged: String?
        while !Task.isCancelled && !stopping {
            let startedAt = now
            let reason: String
            do {
                let url = relay.websocketURL + "?" + (try token())
                health.state = .connecting
                // No WebSocket auto-ping: its pong is read only with the frames before it, so a
                // peer that stops reading for back-pressure would close its own connection two
                // periods later and lose what the relay had written (``keepalive(_:)`` instead).
                var wsConfiguration = WebSocketClientConfiguration(maxFrameSize: configuration.maximumFrameSize, autoPing: .disabled)
                wsConfiguration.closeTimeout = .seconds(2)
                let close = try await connect(url: url, configuration: wsConfiguration)
                reason = "closed by relay\(close.map { ": \($0.closeCode)" } ?? "")"
                detach(generation, reason: reason)
                health.lastError = reason
            } catch is CancellationError {
                break
            } catch {
                reason = await CertificateDiagnosis.describe(error, url: relay.websocketURL)
                detach(generation, reason: reason)
                health.recordFailure(reason)
            }
            if Task.isCancelled || stopping { break }
            // A connection that lived a while resets the backoff.
            failures = now - startedAt > .seconds(30) ? 0 : failures + 1
            let delay = backoff(failures)
            var metadata: Logger.Metadata = ["relay": "\(relay)", "reason": "\(reason)",
                                             "in_ms": "\(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)"]
            // One warning per new reason; while the same failure repeats, one at the 2nd, 4th,
            // 8th … attempt (with the count), so a relay that stays down does not flood the log.
            if reason != lastLogged || failures & (failures - 1) == 0 {
                if reason == lastLogged { metadata["attempts"] = "\(failures)" }
                logger.warning("relay connection down, reconnecting", metadata: metadata)
                lastLogged = reason
            } else {
                logger.debug("relay connection down, reconnecting", metadata: metadata)
            }
            try? await clock.sleep(for: delay, tolerance: nil)
        }
        detach(generation, reason: "shut down")
    }

    /// One session: connects, reads until it ends, returns the relay's close frame if any.
    /// Throws ``HandshakeTimeout`` when the upgrade is not answered within the configured time.
    private func connect(url: String, configuration wsConfiguration: WebSocketClientConfiguration) async throws -> WebSocketCloseFrame? {
        enum Outcome: Sendable { case closed(WebSocketCloseFrame?), upgradedInTime }
        let upgraded = UpgradeFlag()
        let (clock, timeout, logger, maximumFrameSize) = (self.clock, configuration.handshakeTimeout, self.logger, configuration.maximumFrameSize)
        return try await withThrowingTaskGroup(of: Outcome.self) { group in
            group.addTask {
                .closed(try await WebSocketConnector.connect(url: url, configuration: wsConfiguration,
                                                             tlsConfiguration: ClientTLS.configuration(), logger: logger) { inbound, outbound in
                    upgraded.set()
                    let generation = await self.attach(outbound)
                    // Reading and the keepalive side by side; whichever ends first ends the other.
                    do {
                        try await withThrowingTaskGroup(of: Void.self) { session in
                            session.addTask {
                                for try await message in inbound.messages(maxSize: maximumFrameSize) {
                                    guard case .binary(let buffer) = message else { continue }
                                    await self.received(Array(buffer.readableBytesView))
                                }
                            }
                            session.addTask { try await self.keepalive(generation) }
                            try await session.next()
                            session.cancelAll()
                        }
                    } catch let silent as KeepaliveTimeout {
                        // Batches waiting for a confirmation fail with the real reason, not "closed".
                        await self.detach(generation, reason: silent.description)
                        throw silent
                    } catch {
                        await self.detach(generation, reason: "connection closed")
                        throw error
                    }
                    await self.detach(generation, reason: "connection closed")
                })
            }
            group.addTask {
                try await clock.sleep(for: timeout, tolerance: nil)
                guard upgraded.isSet else { throw HandshakeTimeout(timeout: timeout) }
                return .upgradedInTime
            }
            while let outcome = try await group.next() {
                if case .closed(let frame) = outcome {
                    group.cancelAll()
                    return frame
                }
            }
            return nil
        }
    }

    private func backoff(_ failures: Int) -> Duration {
        let base = configuration.minimumBackoff * (1 << min(failures, 10))
        let capped = min(base, configuration.maximumBackoff)
        return capped * Double.random(in: 0.5...1.0)
    }

    private func attach(_ outbound: WebSocketOutbound) -> UInt64 {
        generation += 1
        self.outbound = outbound
        health.state = .connected
        health.lastError = nil
        logger.info("relay connected", metadata: ["relay": "\(relay)"])
        return generation
    }

    private func detach(_ generation: UInt64, reason: String) {
        guard generation == self.generation, outbound != nil || health.state != .disconnected else { return }
        if outbound != nil { health.connectionsLost += 1 }
        outbound = nil
        health.state = .disconnected
        health.silentSince = nil
        openConfirmation = nil
        let unsettled = confirmations.filter { $0.value.outcome == nil }.keys
        for uid in unsettled { settle(uid, .failure(.connectionLost(relay))) }
        if !unsettled.isEmpty { health.recordFailure(reason) }
    }

    private func received(_ bytes: [UInt8]) async {
        lastHeard = now
        let decoded = Result { () throws(ProtocolError) in try RMBEnvelope(wire: bytes) }
        if case .success(let envelope) = decoded, case .pong? = envelope.message, envelope.uid.hasPrefix(heartbeatPrefix) {
            return
        }
        if case .success(let envelope) = decoded, case .pong? = envelope.message, envelope.uid.hasPrefix(confirmationPrefix) {
            confirmed(envelope.uid)
            return
        }
        delivering = true
        await deliver(InboundFrame(relay: relay, envelope: decoded, size: bytes.count))
        delivering = false
        lastHeard = now
    }

    // MARK: Keepalive

    /// Runs while connection `generation` is up: every period, a connection that heard nothing
    /// for a period sends an envelope ping (its pong is a frame like any other), and one whose
    /// ping was sent a period ago with nothing heard since throws ``KeepaliveTimeout``, which
    /// closes it. Only an unanswered ping condemns a relay: an idle connection is quiet between
    /// a probe's pong and the next probe, and judging it by its silence alone closed it whenever
    /// a timer fired a little later than the pong had come (every few periods on a loaded
    /// machine, with replies in flight lost to the old socket). While a read frame waits to be
    /// handed on (back-pressure: the peer deliberately stops reading so TCP slows the relay
    /// down), the relay is not judged, and the silence counts from when reading resumes: pongs
    /// queued behind the unread frames cannot arrive before then. Meanwhile a heartbeat each
    /// period lets the relay hear from us, so it does not close the session for silence (relays
    /// close clients they hear nothing from) and drop what it queued for us.
    private func keepalive(_ generation: UInt64) async throws {
        let period = configuration.keepalive
        lastHeard = now
        keepaliveProbeSentAt = nil
        while true {
            try await clock.sleep(for: period, tolerance: nil)
            guard generation == self.generation else { continue }
            if delivering {
                await sendHeartbeat()
                continue
            }
            if let sentAt = keepaliveProbeSentAt, lastHeard < sentAt {
                if now - sentAt >= period { throw KeepaliveTimeout(silence: now - lastHeard) }
                continue
            }
            keepaliveProbeSentAt = nil
            if now - lastHeard >= period {
                keepaliveProbeSentAt = now
                Task { _ = try? await self.sendConfirmed([]) }
            }
        }
    }

    /// An envelope ping nobody waits for: its pong is dropped when read.
    private func sendHeartbeat() async {
        guard let outbound else { return }
        counter += 1
        guard let bytes = try? pingEnvelope(uid: heartbeatPrefix + String(counter)).wireBytes() else { return }
        try? await outbound.write(binary: [ByteBuffer(bytes: bytes)])
    }

    /// An envelope ping from this peer to itself: the relay answers it with a pong (envelope.md §6).
    private func pingEnvelope(uid: String) -> RMBEnvelope {
        var ping = RMBEnvelope()
        ping.uid = uid
        ping.timestamp = unixNow()
        ping.expiration = 60
        ping.source = peer
        ping.destination = peer
        ping.ping = RMBPing()
        return ping
    }

    // MARK: Sending

    /// Writes the frames and returns once the pong of an envelope ping written after them
    /// arrived: every frame is then accepted by the relay. The ping is shared with the batches
    /// written after this one within the confirmation window (see ``Configuration``). Throws
    /// when not connected, on a write error, a lost connection or a timeout; the caller then
    /// tries another relay. `written` runs once the frames are handed to the socket (a caller
    /// may write its next batch then, keeping the order on the wire, while this one waits for
    /// its pong).
    public func sendConfirmed(_ frames: [[UInt8]], written: (@Sendable () -> Void)? = nil) async throws -> Duration {
        guard let outbound else { throw RedundancyError.notConnected(relay) }
        let (started, generation) = (now, self.generation)
        do {
            // One task on the event loop and one flush for the whole batch.
            try await outbound.write(binary: frames.map { ByteBuffer(bytes: $0) })
        } catch {
            health.recordFailure("write failed: \(error)")
            throw RedundancyError.writeFailed(relay, String(describing: error))
        }
        // The connection may have been lost while writing: a ping on the next one would confirm
        // nothing of these frames.
        guard generation == self.generation, self.outbound != nil else { throw RedundancyError.connectionLost(relay) }
        let (uid, pingNow) = joinConfirmation(probe: frames.isEmpty)
        if pingNow { await writePing(uid, generation: generation) }
        written?()
        try await outcome(of: uid)
        return now - started
    }

    /// The uid of the ping that will confirm a batch just written on the current connection:
    /// the open one, or a new one whose ping goes after the window; and whether the batch is to
    /// write the ping at once: a `probe` (nothing but the ping: the keepalive's, a silent
    /// relay's) does, as when the window is zero or ``Configuration/batchesPerPing`` batches
    /// wait for it.
    private func joinConfirmation(probe: Bool) -> (uid: String, pingNow: Bool) {
        let uid: String
        if let open = openConfirmation, confirmations[open] != nil {
            uid = open
            confirmations[uid]?.batches += 1
            confirmations[uid]?.unheard += 1
        } else {
            counter += 1
            uid = confirmationPrefix + String(counter)
            confirmations[uid] = PendingConfirmation(deadline: now + configuration.confirmationWindow + configuration.confirmationTimeout)
            openConfirmation = uid
            if configuration.confirmationWindow > .zero {
                let (clock, window, generation) = (self.clock, configuration.confirmationWindow, self.generation)
                Task {
                    try? await clock.sleep(for: window, tolerance: nil)
                    await self.writePing(uid, generation: generation)
                }
            }
        }
        let pingNow = probe || configuration.confirmationWindow == .zero
            || (confirmations[uid]?.batches ?? 0) >= configuration.batchesPerPing
        return (uid, pingNow)
    }

    /// Writes the ping of confirmation `uid`, once, if it is still open and connection
    /// `generation` (its batches') is still up. A failed write fails its batches.
    private func writePing(_ uid: String, generation: UInt64) async {
        guard openConfirmation == uid else { return }
        openConfirmation = nil
        guard generation == self.generation, let outbound, confirmations[uid]?.outcome == nil else { return }
        confirmations[uid]?.pingWrittenAt = now
        do {
            try await outbound.write(binary: [ByteBuffer(bytes: try pingEnvelope(uid: uid).wireBytes())])
        } catch {
            health.recordFailure("write failed: \(error)")
            settle(uid, .failure(.connectionLost(relay)))
        }
    }

    /// The pong of confirmation `uid` arrived.
    private func confirmed(_ uid: String) {
        guard let confirmation = confirmations[uid], confirmation.outcome == nil else { return }
        health.recordSuccess(roundTrip: now - (confirmation.pingWrittenAt ?? now), batches: confirmation.batches)
        settle(uid, .success(()))
    }

    /// Waits for the outcome of confirmation `uid` (one of its batches).
    private func outcome(of uid: String) async throws {
        guard let confirmation = confirmations[uid] else { throw RedundancyError.connectionLost(relay) }
        if let outcome = confirmation.outcome {
            heard(uid)
            return try outcome.get()
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            confirmations[uid]?.waiters.append(continuation)
        }
    }

    /// Gives confirmation `uid` its outcome and tells the batches waiting for it; batches that
    /// joined and wait later hear it from the entry, which goes once all of them heard.
    private func settle(_ uid: String, _ outcome: Result<Void, RedundancyError>) {
        guard var confirmation = confirmations[uid], confirmation.outcome == nil else { return }
        if openConfirmation == uid { openConfirmation = nil }
        let waiters = confirmation.waiters
        confirmation.waiters = []
        confirmation.outcome = outcome
        confirmation.unheard -= waiters.count
        confirmations[uid] = confirmation.unheard > 0 ? confirmation : nil
        for waiter in waiters { waiter.resume(with: outcome.mapError { $0 as any Error }) }
    }

    /// One batch of a settled confirmation read its outcome.
    private func heard(_ uid: String) {
        guard var confirmation = confirmations[uid] else { return }
        confirmation.unheard -= 1
        confirmations[uid] = confirmation.unheard > 0 ? confirmation : nil
    }
}

/// One envelope ping and the batches it confirms (every batch written before it on its connection).
private struct PendingConfirmation {
    /// When (``RelayConnection/now``) its batches fail with a timeout.
    let deadline: Duration
    var batches = 1
    /// Batches that have not heard the outcome yet.
    var unheard = 1
    var waiters: [CheckedContinuation<Void, any Error>] = []
    var pingWrittenAt: Duration?
    var outcome: Result<Void, RedundancyError>?
}

/// The relay answered nothing for two keepalive periods while the peer was reading.
public struct KeepaliveTimeout: Error, CustomStringConvertible {
    public let silence: Duration
    public var description: String { "relay silent: nothing heard for \(silence) (keepalive)" }
}

/// The relay accepted the connection but did not answer the WebSocket upgrade in time.
public struct HandshakeTimeout: Error, CustomStringConvertible {
    public let timeout: Duration
    public var description: String { "no answer to the WebSocket upgrade within \(timeout)" }
}

/// Set once the WebSocket upgrade succeeded (read by the handshake timer).
final class UpgradeFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
