import Foundation
import RMBTestSupport
@testable import SubstrateRPC
import SubstrateTestSupport
import Testing
import TLSSupport

/// Closing a wss:// connection does not wait for the node's close_notify (issue 18): NIOSSL's
/// default waits up to 5 s, which every CLI call against tfchain used to pay.
@Suite("Substrate RPC over TLS", .timeLimit(.minutes(1)))
struct TLSCloseTests {
    /// A client close is polite (issue 18: the CLI used to drop the TCP connection): the node
    /// gets a close frame, over ws and over wss, and the close takes well under a second (NIOSSL's
    /// default waited up to 5 s for the node's close_notify).
    @Test(arguments: [false, true])
    func closingSendsACloseFrame(tls: Bool) async throws {
        let ca = try TestCertificateAuthority()
        defer { ca.remove() }
        try ClientTLS.trust(caFile: ca.certificatePath)
        let node = try await ReplayNode.start(tls: tls ? try ca.issue().serverConfiguration() : nil) { request in
            request.method == "system_chain" ? .result("tfchain") : nil
        }
        let client = makeClient([node.url])
        #expect(try await client.call("system_chain") == .string("tfchain"))
        let started = ContinuousClock.now
        await client.close()
        let took = ContinuousClock.now - started
        #expect(took < .seconds(1), "close took \(took)")
        let deadline = ContinuousClock.now + .seconds(5)
        while node.closeFramesReceived == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(node.closeFramesReceived == 1)
        await node.stop()
    }
}
