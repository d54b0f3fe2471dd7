import Foundation
import RMBProtocol
import RMBTestSupport
import Testing

/// Session replacement across two `rmb-relay` processes sharing one Redis: the newer connection
/// of a (twin, sid) survives wherever it registered, and the older one is closed.
extension RelayTests {
@Suite(.timeLimit(.minutes(2)))
struct SessionReplacementTests {
    private func startPair() async throws -> (RedisServer, TwinsFile, RelayProcess, RelayProcess, [String]) {
        let redis = try await startRedis()
        let file = try TwinsFile([(TestIdentity.dev, ["relay.example"]), (TestIdentity.alpha, ["relay.example"])])
        var processes: [RelayProcess] = []
        var urls: [String] = []
        for _ in 0..<2 {
            let port = try freeLoopbackPort()
            let process = try RelayProcess(arguments: ["--twins", file.path, "-r", redis.url, "-l", "127.0.0.1:\(port)",
                                                       "-m", "relay.example", "-w", "4", "-u", "100"] + (ProcessInfo.processInfo.environment["RELAY_TEST_DEBUG"] != nil ? ["-d"] : []))
            #expect(await process.waitUp(port: port), "relay did not start: \(process.log)")
            processes.append(process)
            urls.append("ws://127.0.0.1:\(port)/")
        }
        return (redis, file, processes[0], processes[1], urls)
    }

    @Test func newerConnectionOnASiblingProcessClosesTheOlderOne() async throws {
        let (redis, file, one, two, urls) = try await startPair()
        var stopped = false
        defer {
            if !stopped { _ = one.stop(signal: SIGKILL, timeout: .seconds(2)); _ = two.stop(signal: SIGKILL, timeout: .seconds(2)) }
            redis.stop(); file.remove()
        }
        let dev = try await TestPeer.connect(urls[0], token: TestIdentity.dev.token())
        let first = try await TestPeer.connect(urls[0], token: TestIdentity.alpha.token())
        try await first.confirm(twin: TestIdentity.alpha.twin)
        let second = try await TestPeer.connect(urls[1], token: TestIdentity.alpha.token())
        try await second.confirm(twin: TestIdentity.alpha.twin)
        // replaced: told with a close frame, not a dropped socket
        #expect(try await first.waitCloseCode() == .normalClosure)
        // the newer one stays and gets what dev sends through the first process
        try await Task.sleep(for: .milliseconds(500))
        #expect(!second.isClosed)
        let request = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin), tags: "fail-fast")
        try dev.send(request)
        #expect(try await second.next().uid == request.uid)
        // and back again: a third connection on the first process replaces the second
        let third = try await TestPeer.connect(urls[0], token: TestIdentity.alpha.token())
        try await third.confirm(twin: TestIdentity.alpha.twin)
        try await second.waitClosed()
        try await Task.sleep(for: .milliseconds(500))
        #expect(!third.isClosed)
        let again = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin))
        try dev.send(again)
        #expect(try await third.next().uid == again.uid)
        // other sessions of the same twin (another sid) are not touched
        let withSid = try await TestPeer.connect(urls[1], token: TestIdentity.alpha.token(sid: "s1"))
        try await withSid.confirm(twin: TestIdentity.alpha.twin, sid: "s1")
        try await Task.sleep(for: .milliseconds(500))
        #expect(!third.isClosed && !withSid.isClosed)
        await dev.close(); await first.close(); await second.close(); await third.close(); await withSid.close()
        stopped = true
        #expect(try await onThread { one.stop() } == 0)
        #expect(try await onThread { two.stop() } == 0)
    }

    /// Sessions registered on the relay at `port`, from its `relay_worker_connections` gauge (the
    /// server's view: a client may not notice a close that lands right after its upgrade).
    private func connections(_ port: Int) async throws -> Int {
        let reply = try await RawHTTP.send(port: port, request: "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let prefix = "relay_worker_connections{worker=\"0\"} "
        guard let line = reply.body.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return -1 }
        return Int(Double(line.dropFirst(prefix.count)) ?? -1)
    }

    @Test func racingConnectionsLeaveExactlyTheNewestOne() async throws {
        let (redis, file, one, two, urls) = try await startPair()
        var stopped = false
        defer {
            if !stopped { _ = one.stop(signal: SIGKILL, timeout: .seconds(2)); _ = two.stop(signal: SIGKILL, timeout: .seconds(2)) }
            redis.stop(); file.remove()
        }
        let ports = urls.map { Int($0.split(separator: ":").last?.dropLast() ?? "0") ?? 0 }
        for round in 0..<3 {
            // eight connections of one session, alternating between the processes, all at once
            let peers = try await withThrowingTaskGroup(of: TestPeer.self) { group in
                for index in 0..<8 {
                    group.addTask { try await TestPeer.connect(urls[index % 2], token: TestIdentity.alpha.token(sid: "r\(round)")) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // one registration is left across both processes, and it stays
            #expect(try await eventually(.seconds(10)) { try await connections(ports[0]) + connections(ports[1]) == 1 })
            try await Task.sleep(for: .seconds(1))
            let counts = (try await connections(ports[0]), try await connections(ports[1]))
            #expect(counts.0 + counts.1 == 1, "round \(round): \(counts)")
            // and it is a live connection: exactly one of the eight gets what dev sends
            let dev = try await TestPeer.connect(urls[round % 2], token: TestIdentity.dev.token())
            let request = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin, connection: "r\(round)"))
            try dev.send(request)
            let receivers = await withTaskGroup(of: Bool.self) { group in
                for peer in peers { group.addTask { (try? await peer.next(timeout: .seconds(4)))?.uid == request.uid } }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(receivers == 1, "round \(round)")
            await dev.close()
            for peer in peers { await peer.close() }
        }
        stopped = true
        #expect(try await onThread { one.stop() } == 0)
        #expect(try await onThread { two.stop() } == 0)
    }
}
}
