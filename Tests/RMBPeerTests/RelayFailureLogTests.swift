import Foundation
import RMBTestSupport
import Testing

/// A relay that goes away is logged as a warning with its reason, and a relay that stays away
/// does not flood the log (issue 18).
@Suite("rmb-peer logs why a relay is down (real processes)", .serialized, .timeLimit(.minutes(2)))
struct RelayFailureLogTests {
    @Test func aLostRelayIsOneWarningWithTheReasonNotOnePerAttempt() async throws {
        let network = try await LocalNetwork.start(relays: 1, peers: [.init(twin: 1, identity: 0, relays: [0])])
        defer { network.shutdown() }
        let peer = network.peers[0]
        network.relays[0].process.kill()
        // Reconnect attempts back off from 200 ms: about six in 8 s, all refused.
        try await peer.process.waitForLog("Connection refused", count: 1, timeout: .seconds(10))
        try await Task.sleep(for: .seconds(8))
        let warnings = peer.process.log().split(separator: "\n").filter { $0.contains("warning") && $0.contains("relay connection down") }
        #expect(warnings.contains { $0.contains("reason=") && $0.contains("refused") && $0.contains(network.relays[0].url) }, "\(warnings)")
        // The lost connection, the first refusal, then only at the 2nd/4th/8th attempt.
        #expect(warnings.count <= 4, "\(warnings.joined(separator: "\n"))")
    }
}
