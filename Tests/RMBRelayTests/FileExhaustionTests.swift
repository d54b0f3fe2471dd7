import Foundation
import RMBProtocol
import RMBTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A relay that runs out of file descriptors (its limit lowered under it while thousands of idle
/// sockets arrive, federation retries pending) stays alive, keeps its sessions flowing and
/// serves new clients once the sockets go away.
extension RelayTests {
@Suite(.timeLimit(.minutes(3)))
struct FileExhaustionTests {
    /// Opens up to `count` TCP connections to `port` for at most `seconds`, each connect bounded
    /// by 0.5 s (a full accept backlog drops SYNs); returns the sockets that connected.
    static func flood(port: Int, count: Int, seconds: Int) async throws -> [Int32] {
        try await onThread {
            var fds: [Int32] = []
            let deadline = ContinuousClock.now + .seconds(seconds)
            while fds.count < count && ContinuousClock.now < deadline {
                guard let fd = try? RawHTTP.connectLoopback(port: port, timeout: 5, connectTimeoutMicroseconds: 500_000) else { continue }
                fds.append(fd)
            }
            return fds
        }
    }

    /// User + system CPU seconds of a process so far (/proc/<pid>/stat).
    static func cpuSeconds(_ pid: pid_t) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        // after the command: state is field 3, utime 14 and stime 15 (1-based over the whole line)
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    @Test func relaySurvivesRunningOutOfFileDescriptors() async throws {
        let redis = try await startRedis()
        defer { redis.stop() }
        let port = try freeLoopbackPort(), deadRelay = try freeLoopbackPort()
        let twins = try TwinsFile([
            (TestIdentity.dev, ["127.0.0.1:\(port)"]), (TestIdentity.alpha, ["127.0.0.1:\(port)"]),
            (TestIdentity.beta, ["http://127.0.0.1:\(deadRelay)"]),
        ])
        defer { twins.remove() }
        let relay = try RelayProcess(arguments: [
            "--twins", twins.path, "-r", redis.url, "-l", "127.0.0.1:\(port)", "-m", "127.0.0.1:\(port)",
            "--handshake-timeout", "300",
        ])
        defer { _ = relay.stop() }
        #expect(await relay.waitUp(port: port), "\(relay.log)")
        let url = "ws://127.0.0.1:\(port)/"
        let dev = try await TestPeer.connect(url, token: TestIdentity.dev.token())
        let alpha = try await TestPeer.connect(url, token: TestIdentity.alpha.token())
        try await alpha.confirm(twin: TestIdentity.alpha.twin)
        // federation retries pending: beta's relay does not listen
        for _ in 0..<20 { try dev.send(try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.beta.twin))) }

        // The limit drops under the running relay; its cap follows, so the flood below is closed
        // at accept above 512 - 256 connections instead of exhausting the descriptors.
        let lowered = try CommandOutput.run("/usr/bin/prlimit", ["--pid", "\(relay.pid)", "--nofile=512:512"])
        #expect(lowered.status == 0, "\(lowered.output)")
        let flood = try await Self.flood(port: port, count: 3000, seconds: 10)
        // more than the 512 descriptors (the relay closes those over its cap; the rest wait in its backlog)
        #expect(flood.count > 512, "only \(flood.count) sockets connected")
        // The crash this guards against (libdispatch trapping when it cannot open a /proc file)
        // came ~15 s after the exhaustion began.
        let cpuBefore = Self.cpuSeconds(relay.pid)
        try await Task.sleep(for: .seconds(20))
        #expect(ProcessControl.isRunning(relay.pid), "relay died: \(relay.log.suffix(3000))")
        // and it does not spin meanwhile (an accept loop failing with EMFILE once took a core)
        let cpu = Self.cpuSeconds(relay.pid) - cpuBefore
        #expect(cpu < 10, "relay used \(cpu) s of CPU in 20 s of idle sockets")
        // sessions opened before keep flowing
        let during = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin))
        try dev.send(during)
        #expect(try await alpha.next(timeout: .seconds(10)).uid == during.uid)

        for fd in flood { close(fd) }
        // recovered: new clients are served again
        #expect(await eventually(.seconds(30)) {
            (try? await RawHTTP.send(port: port, request: "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout: 2))?.status == 200
        }, "\(relay.log.suffix(3000))")
        let metrics = try await RawHTTP.send(port: port, request: "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").body
        #expect(metrics.contains(#"relay_connections_refused_total{reason="max_connections"}"#), "over the lowered cap: closed at accept")
        let late = try await TestPeer.connect(url, token: TestIdentity.dev.token())
        let after = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin))
        try late.send(after)
        #expect(try await alpha.next(timeout: .seconds(10)).uid == after.uid)
        #expect(ProcessControl.isRunning(relay.pid))
        await dev.close(); await alpha.close(); await late.close()
    }
}
}
