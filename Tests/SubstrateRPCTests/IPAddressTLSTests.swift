import Foundation
import RMBTestSupport
@testable import SubstrateRPC
import SubstrateTestSupport
import Testing
import TLSSupport
@testable import WebSocketTransport

/// A node (or relay) given by IP address over wss:// (issue 18): no SNI (an IP address may not
/// be a TLS server name), the certificate checked against the address through its IP SANs.
@Suite("WebSocket over TLS to an IP address", .timeLimit(.minutes(1)))
struct IPAddressTLSTests {
    @Test func webSocketURLsAreParsedWithTheirServerName() {
        func parts(_ url: String) -> [String]? {
            WebSocketTarget(url: url).map { [$0.address, String($0.port), $0.serverName ?? "-", $0.target, $0.hostHeader, $0.secure ? "tls" : "plain"] }
        }
        #expect(parts("wss://127.0.0.1:8443/?token=a.b") == ["127.0.0.1", "8443", "-", "/?token=a.b", "127.0.0.1:8443", "tls"])
        #expect(parts("wss://[::1]:9/rpc") == ["::1", "9", "-", "/rpc", "[::1]:9", "tls"])
        #expect(parts("wss://10.0.0.7") == ["10.0.0.7", "443", "-", "/", "10.0.0.7", "tls"])
        #expect(parts("wss://localhost:443/") == ["localhost", "443", "localhost", "/", "localhost:443", "tls"])
        #expect(parts("wss://relay.grid.tf/") == ["relay.grid.tf", "443", "relay.grid.tf", "/", "relay.grid.tf", "tls"])
        #expect(parts("ws://127.0.0.1:8080/") == ["127.0.0.1", "8080", "-", "/", "127.0.0.1:8080", "plain"])
        #expect(parts("wss://127.0.0.1.nip.io/")?[2] == "127.0.0.1.nip.io")
        #expect(parts("https://relay.grid.tf/")?.last == "tls")
        #expect(parts("ftp://relay.grid.tf/") == nil)
        #expect(parts("not a url") == nil)
    }

    @Test func aNodeGivenByIPAddressIsReachedWhenItsCertificateNamesTheAddress() async throws {
        let ca = try TestCertificateAuthority()
        defer { ca.remove() }
        try ClientTLS.trust(caFile: ca.certificatePath)
        let node = try await ReplayNode.start(tls: try ca.issue(dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"]).serverConfiguration()) { request in
            request.method == "system_chain" ? .result("tfchain") : nil
        }
        let url = node.url.replacingOccurrences(of: "localhost", with: "127.0.0.1")
        #expect(url.hasPrefix("wss://127.0.0.1:"))
        let client = makeClient([url])
        #expect(try await client.call("system_chain") == .string("tfchain"))
        await client.close()
        await node.stop()
    }

    @Test func anAddressTheCertificateDoesNotNameIsRefused() async throws {
        let ca = try TestCertificateAuthority()
        defer { ca.remove() }
        try ClientTLS.trust(caFile: ca.certificatePath)
        let node = try await ReplayNode.start(tls: try ca.issue(dnsNames: ["localhost"], ipAddresses: []).serverConfiguration()) { request in
            request.method == "system_chain" ? .result("tfchain") : nil
        }
        let client = makeClient([node.url.replacingOccurrences(of: "localhost", with: "127.0.0.1")])
        do {
            _ = try await client.call("system_chain")
            Issue.record("a certificate without the address's IP SAN was accepted")
        } catch {
            #expect("\(error)".contains("failedToValidateHostname") || "\(error)".lowercased().contains("hostname"), "\(error)")
        }
        await client.close()
        await node.stop()
    }
}
