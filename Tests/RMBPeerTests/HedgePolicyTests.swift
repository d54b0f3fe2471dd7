import Testing
@testable import Redundancy
import TwinDirectory

/// The hedge deadline and the demotion of a silent relay, without sockets or real time.
@Suite struct HedgePolicyTests {
    @Test func deadlineFollowsTheSlowestRecentRoundTripWithinItsBounds() {
        let policy = HedgePolicy()
        #expect(policy.deadline(recent: [Duration](), ceiling: .seconds(5)) == .milliseconds(200), "no sample: the floor")
        #expect(policy.deadline(recent: [.milliseconds(2), .milliseconds(10)], ceiling: .seconds(5)) == .milliseconds(200))
        #expect(policy.deadline(recent: [.milliseconds(80), .milliseconds(20)], ceiling: .seconds(5)) == .milliseconds(320))
        #expect(policy.deadline(recent: [.seconds(3)], ceiling: .seconds(5)) == .seconds(5), "never past the confirmation timeout")
    }

    @Test func theWindowForgetsOldRoundTrips() {
        var window = RoundTripWindow()
        window.record(.seconds(1))
        for _ in 0..<HedgePolicy.window { window.record(.milliseconds(5)) }
        #expect(window.recent.count == HedgePolicy.window)
        #expect(window.recent.max() == .milliseconds(5), "the slow sample left the window")
    }

    @Test func aSilentRelayRanksAfterEveryAnsweringOneUntilItConfirms() throws {
        var silent = RelayHealth(relay: try RelayAddress(host: "a.example"))
        var answering = RelayHealth(relay: try RelayAddress(host: "b.example"))
        silent.state = .connected
        answering.state = .connected
        silent.recordSuccess(roundTrip: .milliseconds(1))
        answering.recordSuccess(roundTrip: .milliseconds(40))
        answering.recordFailure("one failure")
        #expect(silent.rank < answering.rank)
        silent.silentSince = .seconds(1)
        #expect(silent.displayState == "silent")
        #expect(silent.rank > answering.rank && silent.rank.isFinite, "demoted, still usable")
        silent.recordSuccess(roundTrip: .milliseconds(1))
        #expect(silent.silentSince == nil && silent.displayState == "connected", "a confirmation promotes it")
        #expect(silent.rank < answering.rank)
    }
}
