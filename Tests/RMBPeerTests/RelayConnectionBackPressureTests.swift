import Foundation
import Logging
import RMBProtocol
import RMBTestSupport
import Redundancy
import Synchronization
import Testing
import TwinDirectory

/// A peer whose downstream is full stops reading its relay sockets, so TCP slows the relay down
/// (issue 16). It must not then take the relay for dead: a pong is read only after the frames
/// before it, and closing the connection would lose every frame the relay already wrote into it.
/// The socket is real (it fills up); the keepalive runs on a manual clock, so the ten periods
/// of the stall are the test's, not the machine's: on a loaded machine a real 200-ms keepalive
/// saw an idle probe's pong late before the flood began, and closed the connection for that.
@Suite("RelayConnection under back-pressure", .timeLimit(.minutes(2)))
struct RelayConnectionBackPressureTests {
    @Test func aPeerThatStopsReadingForTenKeepalivePeriodsKeepsItsConnectionAndLosesNothing() async throws {
        let relay = try await FakeRelay.start()
        let clock = ManualClock()
        let open = Mutex(false)
        let handedOn = Mutex(0)
        let received = Mutex<[String]>([])
        var logger = Logger(label: "test.back-pressure")
        logger.logLevel = .critical
        var configuration = RelayConnection.Configuration()
        configuration.keepalive = .seconds(3)
        configuration.handshakeTimeout = .seconds(10)
        let period = configuration.keepalive
        let connection = RelayConnection(relay: try RelayAddress(parsing: relay.url), peer: RMBAddress(twin: 1),
                                         configuration: configuration, clock: clock, logger: logger, token: { "test-token" }) { frame in
            handedOn.withLock { $0 += 1 }
            // The downstream is full until the test opens it.
            while !open.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(5)) }
            if case .success(let envelope) = frame.envelope { received.withLock { $0.append(envelope.uid) } }
        }
        let running = Task { await connection.run() }
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { await connection.status.state == .connected })
        // The confirmation sweep, the handshake timer and the keepalive.
        #expect(await clock.waitForSleepers(3))

        // 400 frames of 64 KiB: far more than the socket buffers between the two hold (loopback
        // buffers grow to several MiB).
        let count = 400
        let frames = try (0..<count).map { index -> [UInt8] in
            try FakeRelay.floodRequest(index, command: "flood", payload: Data(repeating: UInt8(index & 0xff), count: 64 << 10)).wireBytes()
        }
        relay.flood(frames)

        // The relay's writes stall: the socket is full and the peer does not read.
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(10)) { relay.floodWritten > 0 })
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { handedOn.withLock { $0 } == 1 },
                "the first frame reached the (full) downstream")
        var stalledAt = -1
        let stalled = await eventually(timeout: .seconds(20), every: .milliseconds(250)) {
            defer { stalledAt = relay.floodWritten }
            return relay.floodWritten == stalledAt
        }
        #expect(stalled && stalledAt < count, "the relay wrote \(stalledAt) of \(count) frames without back-pressure")
        // Ten keepalive periods without reading: no probe is judged, and each period the relay
        // hears a heartbeat (a relay closes a client it hears nothing from).
        let pingsBefore = relay.pings
        for elapsed in 1...10 {
            clock.advance(by: period)
            #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { relay.pings == pingsBefore + elapsed },
                    "heartbeat \(elapsed): \(relay.pings - pingsBefore) pings")
        }
        #expect(await connection.status.state == .connected)
        #expect(await connection.status.connectionsLost == 0, "the peer closed its own connection while not reading")
        #expect(handedOn.withLock { $0 } == 1, "read on while the downstream was full")
        open.withLock { $0 = true }

        let all = await eventually(timeout: .seconds(60), every: .milliseconds(20)) { received.withLock { $0.count } >= count }
        let uids = received.withLock { $0 }
        #expect(all, "received \(uids.count) of \(count)")
        let expected = (0..<count).map { "flood-\($0)" }
        let inOrder = uids == expected
        #expect(inOrder, "every frame once, in order: \(Set(expected).subtracting(uids).count) lost, \(uids.count - Set(uids).count) repeated")
        #expect(relay.floodWritten == count)
        // Reading again, the relay is judged again: a quiet period brings a probe, which it answers.
        let pingsAfterStall = relay.pings
        for round in 1...2 {
            clock.advance(by: period)
            #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { relay.pings == pingsAfterStall + round }, "probe \(round)")
            #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { await connection.status.confirmedBatches == UInt64(round) },
                    "probe \(round) answered")
        }
        #expect(await connection.status.connectionsLost == 0, "the peer closed its own connection")
        #expect(relay.sessions == 1)
        running.cancel()
        await running.value
        await relay.stop()
    }
}
