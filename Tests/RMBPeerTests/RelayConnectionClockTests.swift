import Foundation
import Logging
import RMBProtocol
import RMBTestSupport
import Redundancy
import Synchronization
import Testing
import TwinDirectory

/// ``RelayConnection``'s timing on a manual clock (issues 16 and 19): the confirmation deadline,
/// the probe of a silent relay and its promotion, and the handshake timeout — each decided by
/// the test moving time, against an in-process relay that answers or stays silent.
@Suite("RelayConnection on a manual clock", .timeLimit(.minutes(1)))
struct RelayConnectionClockTests {
    /// The keepalive is out of the way unless a test is about it; so is the confirmation window
    /// (a ping after every batch) unless a test is about sharing pings.
    private static func connection(to url: String, clock: ManualClock, keepalive: Duration = .seconds(3600),
                                   confirmationWindow: Duration = .zero) throws -> RelayConnection {
        var logger = Logger(label: "test.relay-connection")
        logger.logLevel = .critical
        var configuration = RelayConnection.Configuration()
        configuration.confirmationTimeout = .seconds(5)
        configuration.handshakeTimeout = .seconds(10)
        configuration.keepalive = keepalive
        configuration.confirmationWindow = confirmationWindow
        configuration.batchesPerPing = 4
        return RelayConnection(relay: try RelayAddress(parsing: url), peer: RMBAddress(twin: 1), configuration: configuration,
                               clock: clock, logger: logger, token: { "test-token" }, deliver: { _ in })
    }

    /// A connection on a manual clock to a fresh ``FakeRelay``, running and connected.
    private static func connected(keepalive: Duration = .seconds(3600), confirmationWindow: Duration = .zero)
        async throws -> (FakeRelay, ManualClock, RelayConnection, Task<Void, Never>) {
        let relay = try await FakeRelay.start()
        let clock = ManualClock()
        let connection = try Self.connection(to: relay.url, clock: clock, keepalive: keepalive, confirmationWindow: confirmationWindow)
        let running = Task { await connection.run() }
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { await connection.status.state == .connected })
        return (relay, clock, connection, running)
    }

    @Test func anUnconfirmedBatchFailsExactlyAtItsDeadline() async throws {
        let (relay, clock, connection, running) = try await Self.connected()

        relay.setSilent(true)
        let outcome = Mutex<Result<Duration, any Error>?>(nil)
        let sending = Task {
            let result: Result<Duration, any Error>
            do { result = .success(try await connection.sendConfirmed([[0x01]])) } catch { result = .failure(error) }
            outcome.withLock { $0 = result }
        }
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { relay.pings == 1 })
        // Just short of the deadline: still waiting.
        clock.advance(by: .milliseconds(4_750))
        try await Task.sleep(for: .milliseconds(100))
        #expect(outcome.withLock { $0 } == nil, "failed before its deadline")
        // The deadline: the next sweep fails it.
        clock.advance(by: .milliseconds(250))
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { outcome.withLock { $0 } != nil })
        if case .failure(let error)? = outcome.withLock({ $0 }) {
            #expect(error as? RedundancyError == .confirmationTimeout(connection.relay))
        } else {
            Issue.record("a batch the relay never confirmed succeeded")
        }
        await sending.value
        #expect(await connection.status.state == .connected, "a late confirmation does not close the connection")
        running.cancel()
        await running.value
        await relay.stop()
    }

    @Test func aSilentRelayIsProbedOnlyWhenIdleAndPromotedWhenItAnswers() async throws {
        let (relay, clock, connection, running) = try await Self.connected()
        _ = try await connection.sendConfirmed([[0x01]])   // a confirmation: the relay answers
        #expect(relay.pings == 1)

        relay.setSilent(true)
        let sending = Task { try? await connection.sendConfirmed([[0x02]]) }
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { relay.pings == 2 })
        await connection.confirmationOverdue(hedgedThrough: nil)   // what RelayPool does at the hedge deadline
        #expect(await connection.status.displayState == "silent")
        #expect(await connection.status.rank >= 1_000, "demoted below every relay that answers")

        // A batch of ours is still in flight there: no probe on top of it.
        clock.advance(by: .milliseconds(250))
        try await Task.sleep(for: .milliseconds(100))
        #expect(relay.pings == 2)

        // The batch times out; with nothing in flight the next sweep probes, and the relay,
        // answering again, is promoted.
        clock.advance(by: .milliseconds(4_750))
        _ = await sending.value
        relay.setSilent(false)
        clock.advance(by: .milliseconds(250))
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { relay.pings == 3 }, "probe sent")
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { await connection.status.displayState == "connected" }, "promoted")
        running.cancel()
        await running.value
        await relay.stop()
    }

    /// A relay that keeps the connection open but answers nothing (frozen, or not routing):
    /// an envelope ping after one quiet period, the connection closed after two, not before.
    @Test func aRelaySilentWhileThePeerReadsIsProbedAfterOnePeriodAndClosedAfterTwo() async throws {
        let (relay, clock, connection, running) = try await Self.connected(keepalive: .seconds(3))
        // The confirmation sweep, the handshake timer (until its deadline) and the keepalive.
        #expect(await clock.waitForSleepers(3))
        relay.setSilent(true)
        clock.advance(by: .milliseconds(2_999))
        try await Task.sleep(for: .milliseconds(100))
        #expect(relay.pings == 0, "probed before a quiet period")
        clock.advance(by: .milliseconds(1))
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { relay.pings == 1 }, "keepalive probe sent")
        try await Task.sleep(for: .milliseconds(100))
        #expect(await connection.status.state == .connected)
        #expect(await connection.status.connectionsLost == 0)
        clock.advance(by: .seconds(3))
        let closed = await eventually(timeout: .seconds(10), every: .milliseconds(5)) { await connection.status.connectionsLost == 1 }
        #expect(closed, "a relay silent for two periods must be given up")
        // The reason is recorded as the session ends (the probe waiting for its pong fails with it).
        let named = await eventually(timeout: .seconds(10), every: .milliseconds(5)) {
            await connection.status.lastError?.contains("relay silent") == true
        }
        let lastError = await connection.status.lastError
        #expect(named, "\(String(describing: lastError))")
        running.cancel()
        await running.value
        await relay.stop()
    }

    /// A relay that answers keeps the connection however long it stays idle: each probe's pong
    /// restarts the quiet period.
    @Test func anIdleRelayThatAnswersKeepsItsConnection() async throws {
        let (relay, clock, connection, running) = try await Self.connected(keepalive: .seconds(3))
        #expect(await clock.waitForSleepers(3))
        for round in 1...5 {
            clock.advance(by: .seconds(3))
            #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { relay.pings == round }, "probe \(round)")
            // The pong is read before time moves on.
            #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { await connection.status.confirmedBatches == UInt64(round) })
        }
        #expect(await connection.status.connectionsLost == 0)
        #expect(relay.sessions == 1)
        running.cancel()
        await running.value
        await relay.stop()
    }

    /// A probe's pong read a little after the keepalive's check, and a later check firing a
    /// little late (as real timers do on a loaded machine): the relay answered every probe, so
    /// the connection stays. Judged by silence alone, it was closed as "nothing heard for
    /// 6.01 s" — on every idle peer, every few periods, losing replies in flight.
    @Test func anIdleConnectionIsNotClosedWhenATimerFiresLateAfterAPong() async throws {
        let (relay, clock, connection, running) = try await Self.connected(keepalive: .seconds(3))
        #expect(await clock.waitForSleepers(3))
        relay.holdPongs()
        clock.advance(by: .seconds(3))
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { relay.pings == 1 }, "probe sent after a quiet period")
        clock.advance(by: .milliseconds(10))
        relay.releasePongs()
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { await connection.status.confirmedBatches == 1 },
                "the pong is read 10 ms after the probe")
        clock.advance(by: .milliseconds(2_990))   // the next check: 2.99 s after the pong
        try await Task.sleep(for: .milliseconds(100))
        #expect(relay.pings == 1, "not quiet for a period yet")
        clock.advance(by: .milliseconds(3_020))   // the check after: 6.01 s after the pong, a timer 20 ms late
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { relay.pings == 2 }, "probed again")
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { await connection.status.confirmedBatches == 2 })
        #expect(await connection.status.connectionsLost == 0, "a relay that answers every probe keeps its connection")
        #expect(relay.sessions == 1)
        running.cancel()
        await running.value
        await relay.stop()
    }

    // MARK: Shared pings

    /// Batches in flight on one connection, each with a flag set once it is written (and has
    /// joined its confirmation) and its outcome.
    private final class Batches: Sendable {
        let written = Mutex<Set<Int>>([])
        let outcomes = Mutex<[Int: Result<Duration, any Error>]>([:])

        /// Sends batch `index` and returns once it is written (it has joined its confirmation).
        func send(_ index: Int, through connection: RelayConnection) async -> Task<Void, Never> {
            let sending = Task {
                let result: Result<Duration, any Error>
                do {
                    result = .success(try await connection.sendConfirmed([[UInt8(index)]]) { self.written.withLock { _ = $0.insert(index) } })
                } catch {
                    result = .failure(error)
                }
                self.outcomes.withLock { $0[index] = result }
            }
            #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { self.written.withLock { $0.contains(index) } },
                    "batch \(index) written")
            return sending
        }

        var succeeded: Int { outcomes.withLock { $0.values.filter { if case .success = $0 { true } else { false } }.count } }
        var settled: Int { outcomes.withLock { $0.count } }
        func error(_ index: Int) -> RedundancyError? {
            outcomes.withLock { if case .failure(let error)? = $0[index] { error as? RedundancyError } else { nil } }
        }
    }

    /// Two batches written within the window: one ping, written when the window ends, confirms
    /// both; the hedge deadline allows for the window.
    @Test func batchesWrittenWithinTheWindowShareOnePing() async throws {
        let (relay, clock, connection, running) = try await Self.connected(confirmationWindow: .milliseconds(5))
        #expect(await clock.waitForSleepers(3))   // the confirmation sweep, the handshake timer, the keepalive
        let batches = Batches()
        let first = await batches.send(1, through: connection)
        let second = await batches.send(2, through: connection)
        #expect(await clock.waitForSleepers(4), "one window timer for both")
        #expect(await connection.hedgeDeadline == .milliseconds(205), "the 200-ms floor plus the window")

        clock.advance(by: .milliseconds(4))
        try await Task.sleep(for: .milliseconds(100))
        #expect(relay.pings == 0, "pinged before the window ended")
        #expect(batches.settled == 0)
        clock.advance(by: .milliseconds(1))
        await first.value
        await second.value
        #expect(relay.pings == 1)
        #expect(batches.succeeded == 2)
        #expect(await connection.status.confirmedBatches == 2)
        running.cancel()
        await running.value
        await relay.stop()
    }

    /// When `batchesPerPing` batches wait, the ping goes without waiting for the window; the
    /// next batch starts a new confirmation.
    @Test func thePingGoesAtOnceWhenEnoughBatchesWait() async throws {
        let (relay, clock, connection, running) = try await Self.connected(confirmationWindow: .milliseconds(5))
        #expect(await clock.waitForSleepers(3))
        let batches = Batches()
        var sending: [Task<Void, Never>] = []
        for index in 1...4 {
            sending.append(await batches.send(index, through: connection))
        }
        for task in sending { await task.value }
        #expect(relay.pings == 1, "one ping for four batches, the clock standing still")
        #expect(batches.succeeded == 4)

        let fifth = await batches.send(5, through: connection)
        try await Task.sleep(for: .milliseconds(100))
        #expect(relay.pings == 1, "the fifth batch waits for its own window")
        clock.advance(by: .milliseconds(5))
        await fifth.value
        #expect(relay.pings == 2)
        #expect(batches.succeeded == 5)
        #expect(await connection.status.confirmedBatches == 5)
        running.cancel()
        await running.value
        await relay.stop()
    }

    /// A connection lost while a batch waits for its window fails the batch (it may have reached
    /// the relay: sent elsewhere it is an extra copy), and its ping is never written.
    @Test func aLostConnectionFailsBatchesWhosePingIsNotWrittenYet() async throws {
        let (relay, clock, connection, running) = try await Self.connected(confirmationWindow: .milliseconds(5))
        #expect(await clock.waitForSleepers(3))
        let batches = Batches()
        let sending = await batches.send(1, through: connection)
        await relay.stop()
        await sending.value
        #expect(batches.error(1) == .connectionLost(connection.relay))
        clock.advance(by: .milliseconds(5))
        try await Task.sleep(for: .milliseconds(100))
        #expect(relay.pings == 0)
        running.cancel()
        await running.value
    }

    @Test func aRelayThatNeverAnswersTheUpgradeIsGivenUpAtTheHandshakeTimeout() async throws {
        let mute = try MuteListener()
        let clock = ManualClock()
        let connection = try Self.connection(to: mute.url, clock: clock)
        let running = Task { await connection.run() }
        // Connected at TCP level, the upgrade unanswered: still connecting, whatever real time passes.
        #expect(await clock.waitForSleepers(2))   // the handshake timer and the confirmation sweep
        try await Task.sleep(for: .milliseconds(200))
        #expect(await connection.status.state == .connecting)
        #expect(await connection.status.lastError == nil)

        clock.advance(by: .seconds(10))
        let named = await eventually(timeout: .seconds(10), every: .milliseconds(5)) {
            await connection.status.lastError?.contains("no answer to the WebSocket upgrade") == true
        }
        let lastError = await connection.status.lastError
        #expect(named, "\(String(describing: lastError))")
        running.cancel()
        await running.value
    }
}
