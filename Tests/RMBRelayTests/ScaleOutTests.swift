import Foundation
import RMBIdentity
import RMBProtocol
import RMBTestSupport
import RedisClient
import Testing
@testable import RMBRelay

extension RelayTests {
@Suite(.timeLimit(.minutes(2)))
struct ScaleOutTests {
    @Test func twoRelaysFederateOverHTTP() async throws {
        let redisA = try await startRedis()
        let redisB = try await startRedis()
        defer { redisA.stop(); redisB.stop() }
        let portA = try freeLoopbackPort(), portB = try freeLoopbackPort()
        let twins = MemoryTwins()
        twins.set(.dev, relays: ["http://127.0.0.1:\(portA)"])
        twins.set(.alpha, relays: ["http://127.0.0.1:\(portB)"])
        let relayA = try await RelayHarness.start(redis: redisA.url, twins: twins, port: portA)
        let relayB = try await RelayHarness.start(redis: redisB.url, twins: twins, port: portB)
        let dev = try await TestPeer.connect(relayA.url, token: TestIdentity.dev.token())
        let alpha = try await TestPeer.connect(relayB.url, token: TestIdentity.alpha.token())
        let request = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin))
        try dev.send(request)
        #expect(try await alpha.next(timeout: .seconds(10)) == request)
        let reply = try TestIdentity.alpha.request(to: RMBAddress(twin: TestIdentity.dev.twin))
        try alpha.send(reply)
        #expect(try await dev.next(timeout: .seconds(10)) == reply)
        // fail-fast to an offline twin on the remote relay: 404 there, error envelope back here
        await alpha.close()
        try await Task.sleep(for: .milliseconds(200))
        let fast = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin), tags: "fail-fast")
        try dev.send(fast)
        let error = try await dev.next(timeout: .seconds(10))
        #expect(error.uid == fast.uid)
        #expect(error.error.message == "remote relay rejected permanently: destination offline")
        // acked federation entries are deleted
        let client = try RedisClient(url: redisA.url)
        var length: Int64 = -1
        for _ in 0..<50 {
            length = try await client.send("XLEN", "relay.federation.stream").integer ?? -1
            if length == 0 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(length == 0)
        // inbound federation garbage and oversized bodies
        var garbage = try await RawHTTP.send(port: portB, request: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\n", body: [0xff, 0xff, 0xff])
        #expect(garbage.status == 400 && garbage.body.hasPrefix("bad request: "))
        // a destination that does not list relay B is refused
        let misdirected = try TestIdentity.alpha.request(to: RMBAddress(twin: TestIdentity.dev.twin)).wireBytes()
        garbage = try await RawHTTP.send(port: portB, request: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \(misdirected.count)\r\nConnection: close\r\n\r\n", body: misdirected)
        #expect(garbage.status == 421)
        await dev.close(); await relayA.stop(); await relayB.stop()
    }

    @Test func twoRelayProcessesOnOneRedisDeliverToEachOther() async throws {
        let redis = try await startRedis()
        defer { redis.stop() }
        let twins = MemoryTwins()
        twins.set(.dev, relays: ["relay.example"])
        twins.set(.alpha, relays: ["relay.example"])
        let first = try await RelayHarness.start(redis: redis.url, twins: twins) { $0.domains = ["relay.example"] }
        let second = try await RelayHarness.start(redis: redis.url, twins: twins) { $0.domains = ["relay.example"] }
        let dev = try await TestPeer.connect(first.url, token: TestIdentity.dev.token())
        let alpha = try await TestPeer.connect(second.url, token: TestIdentity.alpha.token())
        for tags in [nil, "fail-fast"] {
            let request = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin), tags: tags)
            try dev.send(request)
            #expect(try await alpha.next(timeout: .seconds(5)).uid == request.uid)
        }
        let back = try TestIdentity.alpha.request(to: RMBAddress(twin: TestIdentity.dev.twin))
        try alpha.send(back)
        #expect(try await dev.next(timeout: .seconds(5)).uid == back.uid)
        await dev.close(); await alpha.close(); await first.stop(); await second.stop()
    }

    /// The reference's delivery workers (relay.md §5, §10): sessions fill worker 0, then 1; a
    /// session past `workers × user_per_worker` gets 503; a freed place is taken again first.
    @Test func sessionsFillWorkersInOrderUpToTheCapacity() async throws {
        let redis = try await startRedis()
        defer { redis.stop() }
        let port = try freeLoopbackPort()
        let twins = MemoryTwins([(TestIdentity.dev, ["127.0.0.1:\(port)"])])
        let relay = try await RelayHarness.start(redis: redis.url, twins: twins, port: port) {
            $0.workers = 2; $0.usersPerWorker = 2
        }
        /// Sessions per worker, from the gauge's series.
        func loads() async throws -> [Int] {
            let reply = try await RawHTTP.send(port: relay.port, request: "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return reply.body.split(separator: "\n").filter { $0.hasPrefix("relay_worker_connections{") }.sorted()
                .map { Int(Double($0.split(separator: " ").last ?? "") ?? -1) }
        }
        func expectLoads(_ expected: [Int]) async throws {
            let deadline = ContinuousClock.now + .seconds(10)
            var seen = try await loads()
            while seen != expected, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
                seen = try await loads()
            }
            #expect(seen == expected)
        }
        var peers: [TestPeer] = []
        for sid in ["a", "b", "c"] { peers.append(try await TestPeer.connect(relay.url, token: TestIdentity.dev.token(sid: sid))) }
        try await expectLoads([2, 1])
        peers.append(try await TestPeer.connect(relay.url, token: TestIdentity.dev.token(sid: "d")))
        try await expectLoads([2, 2])
        await #expect(throws: (any Error).self) { try await TestPeer.connect(relay.url, token: TestIdentity.dev.token(sid: "e")) }
        await peers[0].close()
        try await expectLoads([1, 2])
        peers.append(try await TestPeer.connect(relay.url, token: TestIdentity.dev.token(sid: "f")))
        try await expectLoads([2, 2])
        for peer in peers.dropFirst() { await peer.close() }
        try await expectLoads([0, 0])
        await relay.stop()
    }

    @Test func metricsScrape() async throws {
        let redis = try await startRedis()
        defer { redis.stop() }
        let port = try freeLoopbackPort()
        let twins = MemoryTwins([(TestIdentity.dev, ["127.0.0.1:\(port)"]), (TestIdentity.alpha, ["127.0.0.1:\(port)"])])
        let relay = try await RelayHarness.start(redis: redis.url, twins: twins, port: port)
        let dev = try await TestPeer.connect(relay.url, token: TestIdentity.dev.token())
        try dev.send(try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin)))
        let own = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.dev.twin))
        try dev.send(own)
        _ = try await dev.next()
        let reply = try await RawHTTP.send(port: relay.port, request: "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(reply.status == 200)
        #expect(reply.body.contains("relay_message_rx 1"))
        #expect(reply.body.contains("relay_message_tx 1"))
        #expect(reply.body.contains("relay_worker_connections{worker=\"0\"} 1"))
        // The reference's cache and process metrics (issue 15): dev's session and the two
        // destinations were looked up once each; nothing was flushed yet.
        #expect(reply.body.contains("rmb_cache_misses_total 2"), "\(reply.body)")
        #expect(reply.body.contains("rmb_cache_entries 2"), "\(reply.body)")
        #expect(reply.body.contains("rmb_cache_flushes_total 0"), "\(reply.body)")
        for name in ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_max_fds", "process_start_time_seconds"] {
            let line = reply.body.split(separator: "\n").first { $0.hasPrefix(name + " ") }
            #expect(line.flatMap { Double($0.split(separator: " ")[1]) }.map { $0 > 0 } == true, "\(name): \(String(describing: line))")
        }
        await dev.close(); await relay.stop()
    }

    @Test func redisRestartMidStream() async throws {
        let redis = try await startRedis()
        defer { redis.stop() }
        let port = try freeLoopbackPort()
        let twins = MemoryTwins([(TestIdentity.dev, ["127.0.0.1:\(port)"]), (TestIdentity.alpha, ["127.0.0.1:\(port)"])])
        let relay = try await RelayHarness.start(redis: redis.url, twins: twins, port: port)
        let dev = try await TestPeer.connect(relay.url, token: TestIdentity.dev.token())
        let before = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin))
        try dev.send(before)
        try await onThread { redis.kill() }
        // while Redis is down: an offline enqueue fails with the §5 error text
        let during = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin))
        try dev.send(during)
        var error = try await dev.next(timeout: .seconds(15))
        if error.uid == before.uid { error = try await dev.next(timeout: .seconds(15)) }
        #expect(error.uid == during.uid)
        #expect(error.error.message.hasPrefix("failed to route message to peer '\(TestIdentity.alpha.twin)': "))
        try await onThread { try redis.start() }
        // after the restart everything works again, on the same connection
        var delivered = false
        for _ in 0..<20 where !delivered {
            let after = try TestIdentity.dev.request(to: RMBAddress(twin: TestIdentity.alpha.twin))
            try dev.send(after)
            var ping = RMBEnvelope(); ping.uid = "p"; ping.source = RMBAddress(twin: TestIdentity.dev.twin); ping.message = .ping(RMBPing())
            try dev.send(ping)
            var sawError = false
            while true {
                let next = try await dev.next(timeout: .seconds(5))
                if next.uid == after.uid { sawError = true }
                if next.uid == "p" { break }
            }
            delivered = !sawError
            if !delivered { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(delivered)
        // the envelope accepted after the restart is in alpha's queue
        let alpha = try await TestPeer.connect(relay.url, token: TestIdentity.alpha.token())
        _ = try await alpha.next(timeout: .seconds(5))
        await alpha.close(); await dev.close(); await relay.stop()
    }
}
}
