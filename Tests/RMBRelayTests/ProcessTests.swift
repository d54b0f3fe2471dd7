import Foundation
import RMBProtocol
import RMBTestSupport
import Testing

/// The `rmb-relay` executable as users run it: flags, twin file, delivery, SIGTERM.
extension RelayTests {
@Suite(.timeLimit(.minutes(2)))
struct ProcessTests {
    @Test func executableDeliversAndShutsDownOnSigterm() async throws {
        let redis = try await startRedis()
        defer { redis.stop() }
        let port = try freeLoopbackPort()
        let twinsFile = FileManager.default.temporaryDirectory.appendingPathComponent("twins-\(UUID().uuidString).toml")
        var toml = ""
        for identity in [TestIdentity.dev, TestIdentity.alpha] {
            toml += "[[twin]]\nid = \(identity.twin)\naccount = \"\(identity.identity.account.hex)\"\nrelays = [\"127.0.0.1:\(port)\"]\n\n"
        }
        try toml.write(to: twinsFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: twinsFile) }

        let relay = try RelayProcess(arguments: [
            "--twins", twinsFile.path, "-r", redis.url, "-l", "127.0.0.1:\(port)", "-m", "127.0.0.1:\(port)",
            "--limit", "1000", "10000000", "-w", "4", "-u", "100",
        ])
        var up = false
        for _ in 0..<100 where !up {
            if let reply = try? await RawHTTP.send(port: port, request: "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout: 1),
               reply.status == 200 { up = true } else { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(up, "relay did not start: \(relay.log)")
        let url = "ws://127.0.0.1:\(port)/"
        let dev = try await TestPeer.connect(url, token: TestIdentity.dev.token())
        let alpha = try await TestPeer.connect(url, token: TestIdentity.alpha.token())
        let request = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin))
        try dev.send(request)
        #expect(try await alpha.next().uid == request.uid)
        let status = try await onThread { relay.stop() }
        #expect(status == 0, "exit status \(String(describing: status)): \(relay.log)")
        // told with 1001 "going away", not a dropped socket
        #expect(try await dev.waitCloseCode() == .goingAway)
        await dev.close(); await alpha.close()
    }

    @Test func badFlagsExitWithTwo() async throws {
        let relay = try RelayProcess(arguments: ["--workers", "0", "--twins", "/nonexistent"])
        var status: Int32 = 0
        let exited = try await onThread { () -> Int32 in
            var raw: Int32 = 0
            _ = waitpid(relay.pid, &raw, 0)
            return (raw >> 8) & 0xff
        }
        status = exited
        #expect(status == 2)
    }
}
}
