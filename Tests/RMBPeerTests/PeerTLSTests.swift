import Foundation
import RMBTestSupport
import Testing

/// The production path on loopback: relays serving TLS themselves with a certificate of a
/// private test CA, peers trusting it with `--ca-file` (not the system store).
@Suite("rmb-peer over wss:// (real processes)", .serialized, .timeLimit(.minutes(3)))
struct PeerTLSTests {
    /// By DNS name, and by IP address (no SNI; the certificate's IP SAN is checked).
    @Test("peer ↔ relay over wss, relay ↔ relay over https; a clean stop with TLS sessions is quick", arguments: ["localhost", "127.0.0.1"])
    func requestThroughTLSRelays(host: String) async throws {
        let ca = try TestCertificateAuthority()
        defer { ca.remove() }
        let certificate = try ca.issue(dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
        // Each peer on its own relay: the request crosses relay → relay federation over https.
        let network = try await LocalNetwork.start(relays: 2, peers: [
            .init(twin: 1, identity: 0, relays: [0]),
            .init(twin: 2, identity: 1, relays: [1]),
        ], tls: .init(certificatePath: certificate.certificatePath, privateKeyPath: certificate.privateKeyPath, caPath: ca.certificatePath,
                      host: host))
        defer { network.shutdown() }
        #expect(network.relays.allSatisfy { $0.domain.hasPrefix(host + ":") })
        let client = try BusClient(url: network.peers[0].redisURL)
        let echo = try EchoService(url: network.peers[1].redisURL)
        defer { echo.stop() }
        try await client.request(ref: "tls-1", cmd: "echo", dst: [2], ret: "ret-tls", dat: Array("over TLS".utf8))
        let replies = try await client.collect("ret-tls", count: 1, timeout: .seconds(20))
        #expect(replies.first?.ref == "tls-1" && replies.first?.text == "over TLS", "\(replies)\n\(network.diagnostics())")

        // SIGTERM with a live TLS session: the close no longer waits 5 s for the relay's close_notify.
        let started = ContinuousClock.now
        let status = await network.peers[0].process.stop(timeout: .seconds(15))
        let took = ContinuousClock.now - started
        print("[peer tls] clean stop with a wss session (\(host)) took \(took)")
        #expect(status.flatMap(ChildProcess.exitCode(of:)) == 0, "\(network.peers[0].process.logTail())")
        #expect(took < .seconds(3), "stopping took \(took)")
    }

    /// A certificate the peer must refuse, and the words its log must use for it.
    enum BadCertificate: String, CaseIterable, Sendable {
        case otherHost, expired, notYetValid
        var expectedReason: String {
            switch self {
            case .otherHost: "failedToValidateHostname"
            case .expired: "expired on"
            case .notYetValid: "is not valid before"
            }
        }
    }

    @Test("a relay certificate for another host, expired or not yet valid is refused, and the peer says which", arguments: BadCertificate.allCases)
    func badCertificateIsRefusedWithItsReason(_ bad: BadCertificate) async throws {
        let ca = try TestCertificateAuthority()
        defer { ca.remove() }
        let leaf = switch bad {
        case .otherHost: try ca.issue(dnsNames: ["relay.elsewhere.example"], ipAddresses: [])
        case .expired: try ca.issue(validity: .expired)
        case .notYetValid: try ca.issue(validity: .notYetValid)
        }
        let started = Task {
            try await LocalNetwork.start(relays: 1, peers: [.init(twin: 1, identity: 0, relays: [0])],
                                         tls: .init(certificatePath: leaf.certificatePath, privateKeyPath: leaf.privateKeyPath,
                                                    caPath: ca.certificatePath), timeout: .seconds(8))
        }
        // The peer never connects, so the start fails; its diagnostics carry the peer's log.
        do {
            let network = try await started.value
            network.shutdown()
            Issue.record("a peer connected to a relay with a bad certificate (\(bad))")
        } catch {
            let text = "\(error)"
            #expect(text.contains("relay connection down"), "\(text)")
            #expect(text.contains(bad.expectedReason), "the reason names the certificate problem: \(text)")
        }
    }
}
