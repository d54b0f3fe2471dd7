import Foundation
import RMBTestSupport
import Testing

/// The test CA's certificates must be ones OpenSSL accepts (and refuses) as a TLS stack would:
/// checked with the `openssl verify` command, an implementation independent of the one that made them.
@Suite struct TestCertificateAuthorityTests {
    @Test func aCurrentLeafVerifiesAgainstItsAuthorityForItsNames() throws {
        let ca = try TestCertificateAuthority()
        defer { ca.remove() }
        let leaf = try ca.issue(dnsNames: ["relay.test"], ipAddresses: ["127.0.0.1", "::1"])
        #expect(try verify(leaf, ca, "-verify_hostname", "relay.test").status == 0)
        #expect(try verify(leaf, ca, "-verify_ip", "127.0.0.1").status == 0)
        #expect(try verify(leaf, ca, "-verify_ip", "::1").status == 0)
        #expect(try verify(leaf, ca, "-verify_hostname", "other.test").status != 0)
    }

    @Test func expiredAndFutureLeavesAreRefusedForTheirDates() throws {
        let ca = try TestCertificateAuthority()
        defer { ca.remove() }
        let expired = try verify(try ca.issue(validity: .expired), ca)
        #expect(expired.status != 0 && expired.output.contains("expired"))
        let future = try verify(try ca.issue(validity: .notYetValid), ca)
        #expect(future.status != 0 && future.output.contains("not yet valid"))
    }

    @Test func anotherAuthorityIsNotTrusted() throws {
        let ca = try TestCertificateAuthority()
        let stranger = try TestCertificateAuthority(commonName: "Stranger CA")
        defer { ca.remove(); stranger.remove() }
        #expect(try verify(try stranger.issue(), ca).status != 0)
    }

    private func verify(_ leaf: TestCertificateAuthority.Issued, _ ca: TestCertificateAuthority,
                        _ options: String...) throws -> CommandOutput {
        try CommandOutput.run("openssl", ["verify", "-CAfile", ca.certificatePath] + options + [leaf.certificatePath])
    }
}
