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
/// Real time here (a real socket filling up), with a short keepalive so that the stall lasts
/// ten of its periods.
@Suite("RelayConnection under back-pressure", .timeLimit(.minutes(2)))
struct RelayConnectionBackPressureTests {
    @Test func aPeerThatStopsReadingForTenKeepalivePeriodsKeepsItsConnectionAndLosesNothing() async throws {
        let relay = try await FakeRelay.start()
        let open = Mutex(false)
        let received = Mutex<[String]>([])
        var logger = Logger(label: "test.back-pressure")
        logger.logLevel = .critical
        var configuration = RelayConnection.Configuration()
        configuration.keepalive = .milliseconds(200)
        let connection = RelayConnection(relay: try RelayAddress(parsing: relay.url), peer: RMBAddress(twin: 1),
                                         configuration: configuration, logger: logger, token: { "test-token" }) { frame in
            // The downstream is full until the test opens it.
            while !open.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(5)) }
            if case .success(let envelope) = frame.envelope { received.withLock { $0.append(envelope.uid) } }
        }
        let running = Task { await connection.run() }
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { await connection.status.state == .connected })

        // 400 frames of 64 KiB: far more than the socket buffers between the two hold (loopback
        // buffers grow to several MiB).
        let count = 400
        let frames = try (0..<count).map { index -> [UInt8] in
            try FakeRelay.floodRequest(index, command: "flood", payload: Data(repeating: UInt8(index & 0xff), count: 64 << 10)).wireBytes()
        }
        relay.flood(frames)

        // The relay's writes stall: the socket is full and the peer does not read.
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(10)) { relay.floodWritten > 0 })
        var stalledAt = -1
        let stalled = await eventually(timeout: .seconds(20), every: .milliseconds(250)) {
            defer { stalledAt = relay.floodWritten }
            return relay.floodWritten == stalledAt
        }
        #expect(stalled && stalledAt < count, "the relay wrote \(stalledAt) of \(count) frames without back-pressure")
        // Ten keepalive periods without reading; the relay still hears a heartbeat each period
        // (a relay closes a client it hears nothing from).
        let pingsBefore = relay.pings
        try await Task.sleep(for: .seconds(2))
        #expect(await connection.status.state == .connected)
        #expect(relay.pings - pingsBefore >= 5, "heartbeats while not reading: \(relay.pings - pingsBefore)")
        open.withLock { $0 = true }

        let all = await eventually(timeout: .seconds(30), every: .milliseconds(20)) { received.withLock { $0.count } >= count }
        let uids = received.withLock { $0 }
        #expect(all, "received \(uids.count) of \(count)")
        let expected = (0..<count).map { "flood-\($0)" }
        let inOrder = uids == expected
        #expect(inOrder, "every frame once, in order: \(Set(expected).subtracting(uids).count) lost, \(uids.count - Set(uids).count) repeated")
        #expect(relay.floodWritten == count)
        #expect(await connection.status.connectionsLost == 0, "the peer closed its own connection while not reading")
        #expect(relay.sessions == 1)
        running.cancel()
        await running.value
        await relay.stop()
    }
}
