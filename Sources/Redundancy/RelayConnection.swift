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
/// a batch proves the relay accepted every frame written before the ping.
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

    private var writer: WebSocketOutboundWriter?
    private var generation: UInt64 = 0
    private var health: RelayHealth
    /// Batches waiting for their pong, with the time (``now``) they time out (``expireOverdue(now:)``).
    private var pending: [String: (continuation: CheckedContinuation<Void, any Error>, deadline: Duration)] = [:]
    /// Pongs that arrived while their sender was still finishing its writes.
    private var earlyPongs: Set<String> = []
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
                clock: any Clock<Duration> = ContinuousClock(), logger: Logger,
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
        guard !pending.isEmpty else { return }
        for (uid, waiter) in pending where waiter.deadline <= now {
            pending.removeValue(forKey: uid)
            health.recordFailure("confirmation timeout")
            waiter.continuation.resume(throwing: RedundancyError.confirmationTimeout(relay))
        }
    }

    /// A silent relay with nothing of ours in flight gets a probe: its pong promotes it again
    /// (``RelayHealth/recordSuccess(roundTrip:)``); a relay that stays silent is closed by the
    /// keepalive (``keepalive(_:)``).
    private func probeIfSilent() {
        guard health.silentSince != nil, pending.isEmpty, !probing, writer != nil else { return }
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
        guard let writer else { return }
        try? await writer.close(.goingAway, reason: "peer shutting down")
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

    private func attach(_ outbound: WebSocketOutboundWriter) -> UInt64 {
        generation += 1
        writer = outbound
        health.state = .connected
        health.lastError = nil
        logger.info("relay connected", metadata: ["relay": "\(relay)"])
        return generation
    }

    private func detach(_ generation: UInt64, reason: String) {
        guard generation == self.generation, writer != nil || health.state != .disconnected else { return }
        if writer != nil { health.connectionsLost += 1 }
        writer = nil
        health.state = .disconnected
        health.silentSince = nil
        earlyPongs.removeAll()
        let waiting = pending
        pending.removeAll()
        for (_, waiter) in waiting { waiter.continuation.resume(throwing: RedundancyError.connectionLost(relay)) }
        if !waiting.isEmpty { health.recordFailure(reason) }
    }

    private func received(_ bytes: [UInt8]) async {
        lastHeard = now
        let decoded = Result { () throws(ProtocolError) in try RMBEnvelope(wire: bytes) }
        if case .success(let envelope) = decoded, case .pong? = envelope.message, envelope.uid.hasPrefix(heartbeatPrefix) {
            return
        }
        if case .success(let envelope) = decoded, case .pong? = envelope.message, envelope.uid.hasPrefix(confirmationPrefix) {
            if let waiter = pending.removeValue(forKey: envelope.uid) {
                waiter.continuation.resume()
            } else {
                earlyPongs.insert(envelope.uid)
            }
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
        guard let writer else { return }
        counter += 1
        guard let bytes = try? pingEnvelope(uid: heartbeatPrefix + String(counter)).wireBytes() else { return }
        try? await writer.write(.binary(ByteBuffer(bytes: bytes)))
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

    /// Writes the frames, then an envelope ping, and returns once the relay's pong arrived:
    /// every frame is then accepted by the relay. Throws when not connected, on a write error,
    /// a lost connection or a timeout; the caller then tries another relay. `written` runs once
    /// the frames and the ping are handed to the socket (a caller may write its next batch then,
    /// keeping the order on the wire, while this one waits for its pong).
    public func sendConfirmed(_ frames: [[UInt8]], written: (@Sendable () -> Void)? = nil) async throws -> Duration {
        guard let writer else { throw RedundancyError.notConnected(relay) }
        let started = now
        counter += 1
        let uid = confirmationPrefix + String(counter)
        let pingBytes = try pingEnvelope(uid: uid).wireBytes()
        do {
            for frame in frames {
                try await writer.write(.binary(ByteBuffer(bytes: frame)))
            }
            try await writer.write(.binary(ByteBuffer(bytes: pingBytes)))
        } catch {
            health.recordFailure("write failed: \(error)")
            throw RedundancyError.writeFailed(relay, String(describing: error))
        }
        written?()
        let deadline = now + configuration.confirmationTimeout
        if earlyPongs.remove(uid) == nil {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                pending[uid] = (continuation, deadline)
            }
        }
        let elapsed = now - started
        health.recordSuccess(roundTrip: elapsed)
        return elapsed
    }
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
