import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import RMBProtocol
import RMBTestSupport
import Testing
@testable import RMBRelay

/// The relay's own TLS listener (`--tls-cert`/`--tls-key`) as users run it: real relay
/// processes, a test CA, sessions over `wss://`, federation over `https://`, `/metrics` over TLS.
extension RelayTests {
@Suite(.timeLimit(.minutes(2)))
struct TLSListenerTests {
    /// A client configuration trusting only the test CA (not the system roots).
    static func trusting(_ ca: TestCertificateAuthority) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .file(ca.certificatePath)
        return configuration
    }

    /// GET over https until the relay answers (or `timeout`): the status and body.
    static func get(_ url: String, tls: TLSConfiguration, timeout: Duration = .seconds(20)) async throws -> (UInt, String) {
        var configuration = HTTPClient.Configuration()
        configuration.tlsConfiguration = tls
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let deadline = ContinuousClock.now + timeout
        let outcome: Result<(UInt, String), any Error>
        while true {
            do {
                let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(2))
                let body = try await response.body.collect(upTo: 1 << 20)
                outcome = .success((response.status.code, String(buffer: body)))
                break
            } catch {
                if ContinuousClock.now >= deadline { outcome = .failure(error); break }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        try? await client.shutdown()
        return try outcome.get()
    }

    @Test func sessionsFederationAndMetricsOverTLS() async throws {
        let ca = try TestCertificateAuthority()
        defer { ca.remove() }
        let certificate = try ca.issue(dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
        let redis = try await startRedis()
        defer { redis.stop() }
        let plainPort = try freeLoopbackPort(), tlsPort = try freeLoopbackPort()
        // alpha's relay is plain (`http://` entry), beta's serves TLS (a bare entry means https/wss).
        let twins = try TwinsFile([
            (TestIdentity.alpha, ["http://127.0.0.1:\(plainPort)"]),
            (TestIdentity.beta, ["localhost:\(tlsPort)"]),
        ])
        defer { twins.remove() }
        let plain = try RelayProcess(arguments: [
            "--twins", twins.path, "-r", redis.url + "/1", "-l", "127.0.0.1:\(plainPort)", "-m", "http://127.0.0.1:\(plainPort)",
            "--ca-file", ca.certificatePath,
        ])
        defer { _ = plain.stop() }
        let secure = try RelayProcess(arguments: [
            "--twins", twins.path, "-r", redis.url + "/2", "-l", "127.0.0.1:\(tlsPort)", "-m", "localhost:\(tlsPort)",
            "--tls-cert", certificate.certificatePath, "--tls-key", certificate.privateKeyPath,
        ])
        defer { _ = secure.stop() }
        let tls = Self.trusting(ca)

        let (status, metrics) = try await Self.get("https://localhost:\(tlsPort)/metrics", tls: tls)
        #expect(status == 200, "\(secure.log)")
        #expect(metrics.contains("relay_"), "metrics over TLS: \(metrics.prefix(200))")
        #expect(await plain.waitUp(port: plainPort), "\(plain.log)")
        #expect(secure.log.contains("tls=true"), "\(secure.log)")

        let alpha = try await TestPeer.connect("ws://127.0.0.1:\(plainPort)/", token: TestIdentity.alpha.token())
        let beta = try await TestPeer.connect("wss://localhost:\(tlsPort)/", token: TestIdentity.beta.token(), tls: tls)
        try await alpha.confirm(twin: TestIdentity.alpha.twin)
        try await beta.confirm(twin: TestIdentity.beta.twin)

        // plain relay → https://localhost:<tls>/ (trusted through --ca-file) → beta over wss
        let request = try TestIdentity.alpha.request(to: RMBAddress(twin: TestIdentity.beta.twin))
        try alpha.send(request)
        #expect(try await beta.next(timeout: .seconds(10)).uid == request.uid, "plain: \(plain.log)\nsecure: \(secure.log)")
        // the TLS relay → http://127.0.0.1:<plain>/ → alpha
        let back = try TestIdentity.beta.request(to: RMBAddress(twin: TestIdentity.alpha.twin))
        try beta.send(back)
        #expect(try await alpha.next(timeout: .seconds(10)).uid == back.uid, "secure: \(secure.log)")
        await alpha.close(); await beta.close()
    }

    @Test func clientsRefuseAnUntrustedCertificate() async throws {
        let ca = try TestCertificateAuthority()
        let stranger = try TestCertificateAuthority(commonName: "Someone Else's CA")
        defer { ca.remove(); stranger.remove() }
        let certificate = try ca.issue()
        let redis = try await startRedis()
        defer { redis.stop() }
        let port = try freeLoopbackPort()
        let twins = try TwinsFile([(TestIdentity.alpha, ["localhost:\(port)"])])
        defer { twins.remove() }
        let relay = try RelayProcess(arguments: [
            "--twins", twins.path, "-r", redis.url, "-l", "127.0.0.1:\(port)", "-m", "localhost:\(port)",
            "--tls-cert", certificate.certificatePath, "--tls-key", certificate.privateKeyPath,
        ])
        defer { _ = relay.stop() }
        _ = try await Self.get("https://localhost:\(port)/metrics", tls: Self.trusting(ca))

        await #expect(throws: (any Error).self) {
            _ = try await Self.get("https://localhost:\(port)/metrics", tls: Self.trusting(stranger), timeout: .zero)
        }
        await #expect(throws: (any Error).self) {
            _ = try await TestPeer.connect("wss://localhost:\(port)/", token: TestIdentity.alpha.token(), tls: Self.trusting(stranger))
        }
        // and a plain-HTTP client on the TLS port gets no HTTP answer (a TLS alert, then the close)
        let plain = try await RawHTTP.send(port: port, request: "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout: 5)
        #expect(plain.status == 0)
        // the relay is still serving
        let (status, _) = try await Self.get("https://localhost:\(port)/metrics", tls: Self.trusting(ca))
        #expect(status == 200)
    }

    /// SIGHUP reloads the certificate files: an expired certificate replaced on disk is served
    /// renewed without a restart, and a broken file keeps the one in use.
    @Test func sighupReloadsTheCertificate() async throws {
        let ca = try TestCertificateAuthority()
        defer { ca.remove() }
        let expired = try ca.issue(validity: .expired)
        let renewed = try ca.issue()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("relay-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let certPath = directory.appendingPathComponent("cert.pem").path, keyPath = directory.appendingPathComponent("key.pem").path
        try expired.certificatePEM.write(toFile: certPath, atomically: true, encoding: .utf8)
        try expired.privateKeyPEM.write(toFile: keyPath, atomically: true, encoding: .utf8)

        let redis = try await startRedis()
        defer { redis.stop() }
        let port = try freeLoopbackPort()
        let twins = try TwinsFile([(TestIdentity.alpha, ["localhost:\(port)"])])
        defer { twins.remove() }
        let relay = try RelayProcess(arguments: [
            "--twins", twins.path, "-r", redis.url, "-l", "127.0.0.1:\(port)", "-m", "localhost:\(port)",
            "--tls-cert", certPath, "--tls-key", keyPath,
        ])
        defer { _ = relay.stop() }
        let tls = Self.trusting(ca)
        #expect(await eventually(.seconds(20)) { relay.log.contains("relay listening") }, "\(relay.log)")
        await #expect(throws: (any Error).self) {
            _ = try await Self.get("https://localhost:\(port)/metrics", tls: tls, timeout: .zero)
        }

        // A half-written renewal (a key that is not PEM) is refused and the old pair stays.
        try "not a key".write(toFile: keyPath, atomically: true, encoding: .utf8)
        #expect(ProcessControl.send(SIGHUP, to: relay.pid))
        #expect(await eventually { relay.log.contains("TLS certificate reload failed") }, "\(relay.log)")

        try renewed.certificatePEM.write(toFile: certPath, atomically: true, encoding: .utf8)
        try renewed.privateKeyPEM.write(toFile: keyPath, atomically: true, encoding: .utf8)
        #expect(ProcessControl.send(SIGHUP, to: relay.pid))
        #expect(await eventually { relay.log.contains("TLS certificate reloaded") }, "\(relay.log)")
        let (status, _) = try await Self.get("https://localhost:\(port)/metrics", tls: tls)
        #expect(status == 200)
        #expect(relay.stop() == 0, "\(relay.log)")
    }

    @Test func unusableFilesAreNamed() throws {
        let ca = try TestCertificateAuthority()
        defer { ca.remove() }
        let certificate = try ca.issue()
        #expect(throws: ServerTLS.Failure.self) { try ServerTLS(certificatePath: "/nonexistent.pem", privateKeyPath: certificate.privateKeyPath) }
        do {
            _ = try ServerTLS(certificatePath: certificate.certificatePath, privateKeyPath: "/nonexistent-key.pem")
            Issue.record("a missing key was accepted")
        } catch {
            #expect(error.description.contains("/nonexistent-key.pem"))
        }
        #expect(throws: Never.self) { try ServerTLS(certificatePath: certificate.certificatePath, privateKeyPath: certificate.privateKeyPath) }
    }

    @Test func certificateWithoutKeyIsABadFlag() async throws {
        let relay = try RelayProcess(arguments: ["--tls-cert", "/tmp/x.pem", "--twins", "/nonexistent"])
        let status = try await onThread { () -> Int32 in
            var raw: Int32 = 0
            _ = waitpid(relay.pid, &raw, 0)
            return (raw >> 8) & 0xff
        }
        #expect(status == 2)
        #expect(relay.log.contains("--tls-cert and --tls-key go together"), "\(relay.log)")
    }
}
}
