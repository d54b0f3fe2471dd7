import Foundation
import RedisClient
import RMBTestSupport
import Testing

/// Redis restarts under the peers (issue 5, Tests: "Redis restart"), with real processes. Each
/// peer gets a Redis server of its own (as on a node: the peer's Redis is local, the relays'
/// Redis is elsewhere), so restarting it touches that peer and its applications only.
///
/// What a user may expect:
/// - Redis **without persistence** loses its lists on a restart: requests still queued in
///   `msgbus.system.local` and replies not yet read are gone with it. The peer must notice,
///   reconnect by itself and serve every request sent after the restart, exactly once.
/// - Redis **with persistence** (here: `SHUTDOWN SAVE`, then a start that loads the dump) loses
///   nothing: every request accepted before the restart is answered too, exactly once.
@Suite("rmb-peer resilience: Redis restarts (real processes)", .serialized, .timeLimit(.minutes(5)))
struct PeerRedisRestartTests {
    /// A network of one relay and two peers, each peer on its own Redis server.
    struct Setup {
        let network: LocalNetwork
        let requesterRedis: RedisServer
        let responderRedis: RedisServer
        var requesterURL: String { requesterRedis.url + "/0" }
        var responderURL: String { responderRedis.url + "/0" }

        static func start() async throws -> Setup {
            let requester = try RedisServer.start()
            let responder = try RedisServer.start()
            // LocalNetwork gives each peer a database of the shared server; a second --redis wins.
            let network = try await LocalNetwork.start(relays: 1, peers: [
                .init(twin: 1, identity: 0, relays: [0], extraArguments: ["--redis", requester.url + "/0"]),
                .init(twin: 2, identity: 1, relays: [0], extraArguments: ["--redis", responder.url + "/0"]),
            ])
            return Setup(network: network, requesterRedis: requester, responderRedis: responder)
        }

        func shutdown() {
            network.shutdown()
            requesterRedis.kill()
            responderRedis.kill()
        }
    }

    /// Restarts `server`: `persistent` = `SHUTDOWN SAVE` and a start that loads the dump (nothing
    /// is lost); otherwise SIGTERM without a save (the databases start empty).
    static func restart(_ server: RedisServer, persistent: Bool) async throws {
        if persistent {
            let admin = try RedisClient(url: server.url, poolSize: 1)
            _ = try? await admin.send(["SHUTDOWN", "SAVE"])   // the connection drops: no reply
            admin.close()
            let stopped = await eventually(timeout: .seconds(15)) { !server.isRunning }
            try #require(stopped, "redis-server did not shut down")
            try server.start()
        } else {
            try server.restart()
        }
    }

    /// LPUSH that rides out a Redis that is (re)starting: a client retries until Redis takes it.
    static func push(_ client: BusClient, ref: String) async throws {
        let json = BusClient.requestJSON(ref: ref, cmd: "echo", dst: [2], ret: "ret-restart", dat: Array(ref.utf8), exp: 120)
        for attempt in 0..<100 {
            do {
                try await client.push("msgbus.system.local", json)
                return
            } catch {
                if attempt == 99 { throw error }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// 240 requests; the requester's Redis restarts after #80, the responder's after #160.
    @Test("Redis of the requester, then of the responder, restarted mid-stream of 240 requests", arguments: [false, true])
    func redisRestartedMidStream(persistent: Bool) async throws {
        let setup = try await Setup.start()
        defer { setup.shutdown() }
        let network = setup.network
        let client = try BusClient(url: setup.requesterURL)
        let collector = try SteadyCollector(url: setup.requesterURL, list: "ret-restart")
        let echo = try EchoService(url: setup.responderURL)
        defer { collector.stop(); echo.stop() }
        let label = persistent ? "persistent" : "volatile"

        let total = 240
        let refs = (0..<total).map { "rr-\($0)" }
        var afterRestart: Set<String> = []
        var events: [String] = []
        let started = ContinuousClock.now
        for (index, ref) in refs.enumerated() {
            if index == 80 {
                try await Self.restart(setup.requesterRedis, persistent: persistent)
                events.append("requester Redis restarted at #\(index) (\(PeerNetworkTests.elapsed(since: started)))")
            }
            if index == 160 {
                // A volatile Redis loses the replies still queued in it, so the requests of the
                // first window must be answered before the responder's Redis goes (a loaded
                // machine can take longer than the 40 requests in between; they are asserted below).
                if !persistent { _ = try await collector.wait(for: Set(refs[80..<120]), timeout: .seconds(60), linger: .zero) }
                try await Self.restart(setup.responderRedis, persistent: persistent)
                events.append("responder Redis restarted at #\(index) (\(PeerNetworkTests.elapsed(since: started)))")
            }
            if index >= 80 && index < 120 || index >= 160 { afterRestart.insert(ref) }
            try await Self.push(client, ref: ref)
            try await Task.sleep(for: .milliseconds(10))
        }
        // With persistence every request must come back; without, those sent after each restart
        // (but not the ones sent in the 40 requests before the responder's restart: their replies
        // may still be queued in its Redis when it goes away).
        let expected = persistent ? Set(refs) : afterRestart
        let tally = try await collector.wait(for: expected, timeout: .seconds(120), linger: .seconds(3))
        let everything = ReplyTally(expected: Set(refs), replies: collector.all)
        print("[redis restart \(label)] expected \(tally); all: answered \(everything.answered)/\(total), duplicates \(everything.duplicates); service received \(echo.received) distinct \(echo.distinct); collector rode out \(collector.errors) Redis errors; \(events); elapsed \(PeerNetworkTests.elapsed(since: started))")

        #expect(network.peers.allSatisfy { $0.process.isRunning }, "\(network.diagnostics())")
        #expect(tally.answered == expected.count, "\(tally)\n\(events)\n\(network.diagnostics(lines: 30))")
        #expect(everything.duplicates == 0, "nothing answered twice: \(everything)")
        #expect(everything.errors.isEmpty, "\(everything)")
        #expect(everything.unexpected.isEmpty, "\(everything)")
        #expect(collector.all.allSatisfy { $0.ref.map { Array($0.utf8) } == $0.payload }, "payloads match refs")
        #expect(echo.repeated.isEmpty, "the service saw requests twice: \(echo.repeated)")
        if persistent { #expect(echo.distinct == total, "service saw \(echo.distinct) distinct requests") }

        // Nothing stays behind in the processing lists (they are cleared once the store holds the message).
        let responderClient = try BusClient(url: setup.responderURL)
        let drained = await eventually(timeout: .seconds(20)) {
            let processing = (try? await client.length("msgbus.system.local.processing")) ?? -1
            let queued = (try? await client.length("msgbus.system.local")) ?? -1
            let replies = (try? await responderClient.length("msgbus.system.reply.processing")) ?? -1
            return processing == 0 && queued == 0 && replies == 0
        }
        let localProcessing = (try? await client.length("msgbus.system.local.processing")) ?? -1
        let replyProcessing = (try? await responderClient.length("msgbus.system.reply.processing")) ?? -1
        #expect(drained, """
            processing lists not empty: requester local.processing \(localProcessing), responder reply.processing \(replyProcessing)
            \(network.diagnostics(lines: 30))
            """)
        // Both peers noticed and reconnected on their own.
        #expect(network.peers[0].process.count("Redis reconnected") > 0, "\(network.diagnostics(lines: 30))")
        #expect(network.peers[1].process.count("Redis reconnected") > 0, "\(network.diagnostics(lines: 30))")
    }
}

@Suite("RedisClient across a Redis restart")
struct RedisClientRestartTests {
    /// Every pooled connection sits idle on a socket the old server closed; none of them may fail
    /// the first call after the restart (an LPUSH that fails may or may not have run, so callers
    /// cannot simply repeat it).
    @Test("after a restart, no call fails on a connection the old server closed")
    func idleConnectionsSurviveRestart() async throws {
        let server = try RedisServer.start()
        defer { server.kill() }
        let client = try RedisClient(url: server.url, poolSize: 4)
        defer { client.close() }
        let blocking = client.makeDedicatedConnection(label: "restart-test")
        defer { blocking.close() }
        // Open every pooled connection (concurrent calls spread over the pool) and the dedicated one.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<16 { group.addTask { _ = try await client.send(["SET", .string("k\(index)"), "v"]) } }
            try await group.waitForAll()
        }
        _ = try await blocking.blocking(["BRPOP", "nothing", "0.1"], blockTimeout: .milliseconds(100))

        try server.restart()

        var failures: [String] = []
        for index in 0..<16 {
            do {
                let reply = try await client.send(["LPUSH", "after", .string("\(index)")])
                if let error = reply.errorMessage { failures.append("#\(index): \(error)") }
            } catch {
                failures.append("#\(index): \(error)")
            }
        }
        do {
            _ = try await blocking.blocking(["BRPOP", "nothing", "0.1"], blockTimeout: .milliseconds(100))
        } catch {
            failures.append("dedicated: \(error)")
        }
        #expect(failures.isEmpty, "\(failures)")
        #expect(try await client.send(["LLEN", "after"]).integer == Int64(16 - failures.filter { $0.hasPrefix("#") }.count))
    }
}
