import Foundation
import RMBClient
import RMBProtocol
import RMBTestSupport
import RedisClient
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// The router and server against a real Redis: requests pushed as the peer pushes them
/// (peer.md §4.3), answers read from `msgbus.system.reply` (§4.4).
@Suite struct RMBServerTests {
    struct Version: Codable, Equatable { var zos: String }

    private func request(_ command: String, _ payload: String = "", source: String = "7", reference: String) -> ServiceRequest {
        ServiceRequest(reference: reference, source: source, command: command, expiration: 60, data: Array(payload.utf8),
                       tags: nil, schema: "application/json", now: 1_700_000_000)
    }

    /// Serves `router`, pushes `requests`, returns the answers by reference.
    private func serve(_ router: RMBRouter, concurrency: Int = 8, _ requests: [ServiceRequest]) async throws -> [String: ServiceResponse] {
        let server = try RedisServer.start()
        defer { server.stop() }
        let redis = try RedisClient(url: server.url, poolSize: 2)
        defer { redis.close() }
        let service = try RMBServer(router: router, redisURL: server.url, concurrency: concurrency)
        let running = Task { try await service.run() }
        defer { running.cancel() }
        for request in requests {
            _ = try await redis.send(["LPUSH", .string("msgbus." + request.command), .bytes(request.jsonBytes())])
        }
        let connection = redis.makeDedicatedConnection(label: "answers")
        defer { connection.close() }
        var answers: [String: ServiceResponse] = [:]
        let deadline = ContinuousClock.now + .seconds(30)
        while answers.count < requests.count, ContinuousClock.now < deadline {
            let reply = try await connection.blocking(["BRPOP", "msgbus.system.reply", "1"], blockTimeout: .seconds(1))
            guard let pair = reply.array, pair.count == 2, let bytes = pair[1].bytes else { continue }
            let answer = try ServiceResponse.parse(bytes)
            answers[answer.reference ?? ""] = answer
        }
        return answers
    }

    @Test func groupsRouteByFullCommandAndAnswerToTheSource() async throws {
        var router = RMBRouter()
        router.group("zos") { zos in
            zos.group("system") { system in
                system.handle("version") { (_: RMBRouter.Empty, _) in Version(zos: "3.1") }
            }
        }
        router.handle("echo") { request in RMBOutgoingResponse(payload: request.payload, schema: "text/plain") }
        let answers = try await serve(router, [
            request("zos.system.version", reference: "a"),
            request("echo", "hello", source: "9:conn", reference: "b"),
        ])
        let version = try #require(answers["a"])
        #expect(version.error == nil)
        #expect(version.destination == "7")
        #expect(try JSONDecoder().decode(Version.self, from: Data(version.data)) == Version(zos: "3.1"))
        let echo = try #require(answers["b"])
        #expect(echo.data == Array("hello".utf8))
        #expect(echo.destination == "9:conn")
        #expect(echo.schema == "text/plain")
        #expect(router.commands == ["echo", "zos.system.version"])
    }

    @Test func errorsBecomeErrorRepliesWithTheirCodes() async throws {
        struct Oops: Error {}
        var router = RMBRouter()
        router.handle("chosen") { _ in throw RMBServiceError(code: 42, "the answer") }
        router.handle("failed") { _ in throw Oops() }
        router.handle("typed") { (input: Version, _) in input }
        let answers = try await serve(router, [
            request("chosen", reference: "c"), request("failed", reference: "f"), request("typed", "[1]", reference: "t"),
        ])
        #expect(answers["c"]?.error == JSONError(code: 42, message: "the answer"))
        #expect(answers["f"]?.error?.code == RMBServiceError.handlerFailed)
        #expect(answers["t"]?.error?.code == 400)
    }

    @Test func middlewareRunsOutermostFirstAndGroupsInsideTheirRouter() async throws {
        let trail = Trail()
        var router = RMBRouter()
        router.use(Mark(name: "outer", trail: trail))
        router.use(Mark(name: "inner", trail: trail))
        router.group("g") { group in
            group.use(Mark(name: "group", trail: trail))
            group.handle("cmd") { request in await trail.add("handler"); return RMBOutgoingResponse(payload: []) }
        }
        router.use(RMBAllowTwinsMiddleware([7]))
        _ = try await serve(router, [request("g.cmd", reference: "1")])
        #expect(await trail.names == ["outer>", "inner>", "group>", "handler", "<group", "<inner", "<outer"])
        let refused = try await serve(router, [request("g.cmd", source: "8", reference: "2")])
        #expect(refused["2"]?.error?.code == 403)
    }

    @Test func atMostConcurrencyHandlersRunAtOnce() async throws {
        let gauge = Gauge()
        var router = RMBRouter()
        router.handle("work") { request in
            await gauge.enter()
            try await Task.sleep(for: .milliseconds(20))
            await gauge.leave()
            return RMBOutgoingResponse(payload: request.payload)
        }
        let answers = try await serve(router, concurrency: 3, (0..<30).map { request("work", reference: "\($0)") })
        #expect(answers.count == 30)
        #expect(await gauge.peak == 3)
    }

    @Test("graceful shutdown: requests already taken are answered before run() returns; later ones stay in Redis")
    func gracefulShutdownAnswersWhatItTook() async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let redis = try RedisClient(url: server.url, poolSize: 2)
        defer { redis.close() }
        let started = Atomic<Int>(0)
        var router = RMBRouter()
        router.handle("slow") { request in
            started.add(1, ordering: .relaxed)
            try await Task.sleep(for: .milliseconds(500))
            return RMBOutgoingResponse(payload: request.payload)
        }
        let service = try RMBServer(router: router, redisURL: server.url, concurrency: 8)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [.init(service: service)], logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        for index in 0..<5 {
            _ = try await redis.send(["LPUSH", "msgbus.slow", .bytes(request("slow", "\(index)", reference: "r\(index)").jsonBytes())])
        }
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(10)) { started.load(ordering: .relaxed) == 5 })
        await group.triggerGracefulShutdown()
        try await running.value
        // Every request it had taken was answered before run() returned.
        #expect(try await redis.send(["LLEN", "msgbus.system.reply"]).integer == 5)
        // Nothing takes requests any more.
        _ = try await redis.send(["LPUSH", "msgbus.slow", .bytes(request("slow", "late", reference: "late").jsonBytes())])
        try await Task.sleep(for: .milliseconds(1500))
        #expect(try await redis.send(["LLEN", "msgbus.slow"]).integer == 1)
    }

    /// A request stamped now (so it lives `expiration` seconds) whose handler waits for `gate`;
    /// Redis refuses writes (`maxmemory 1`, `noeviction`) while the answer is pushed — an error
    /// reply to every LPUSH while taking requests still works.
    private func refusedAnswer(expiration: UInt64, clock: ManualClock, logs: CapturedLogs,
                               _ body: (RedisServer, RedisClient) async throws -> Void) async throws {
        let server = try RedisServer.start()
        defer { server.stop() }
        let redis = try RedisClient(url: server.url, poolSize: 2)
        defer { redis.close() }
        let gate = Gate()
        var router = RMBRouter()
        router.handle("slow") { request in
            await gate.pass()
            return RMBOutgoingResponse(payload: request.payload)
        }
        let service = try RMBServer(router: router, redisURL: server.url, concurrency: 2, logger: logs.logger(), clock: clock)
        let running = Task { try await service.run() }
        defer { running.cancel() }
        let live = ServiceRequest(reference: "live", source: "7", command: "slow", expiration: expiration, data: Array("kept".utf8),
                                  tags: nil, schema: nil, now: UInt64(Date().timeIntervalSince1970))
        _ = try await redis.send(["LPUSH", "msgbus.slow", .bytes(live.jsonBytes())])
        #expect(await eventually(timeout: .seconds(30), every: .milliseconds(10)) { await gate.isWaiting })
        #expect(try await redis.send(["CONFIG", "SET", "maxmemory-policy", "noeviction"]).isOK)
        #expect(try await redis.send(["CONFIG", "SET", "maxmemory", "1"]).isOK)
        await gate.open()
        #expect(await eventually(timeout: .seconds(30), every: .milliseconds(10)) { logs.contains("cannot push an answer") })
        try await body(server, redis)
    }

    @Test("an answer Redis refuses is pushed again until Redis takes it")
    func aRefusedAnswerIsRetried() async throws {
        let clock = ManualClock()
        let logs = CapturedLogs()
        try await refusedAnswer(expiration: 60, clock: clock, logs: logs) { _, redis in
            // Refused twice (after 0 and 100 ms), then Redis takes writes again.
            #expect(await clock.waitForSleeper(wakingAt: clock.now.advanced(by: .milliseconds(100))))
            clock.advance(by: .milliseconds(100))
            #expect(await clock.waitForSleeper(wakingAt: clock.now.advanced(by: .milliseconds(200))))
            #expect(try await redis.send(["LLEN", "msgbus.system.reply"]).integer == 0)
            #expect(try await redis.send(["CONFIG", "SET", "maxmemory", "0"]).isOK)
            clock.advance(by: .milliseconds(200))
            #expect(await eventually(timeout: .seconds(30), every: .milliseconds(10)) {
                (try? await redis.send(["LLEN", "msgbus.system.reply"]).integer) == 1
            })
            let bytes = try #require(try await redis.send(["RPOP", "msgbus.system.reply"]).bytes)
            let answer = try ServiceResponse.parse(bytes)
            #expect(answer.reference == "live")
            #expect(answer.data == Array("kept".utf8))
            #expect(logs.contains("answer pushed after retrying") && logs.contains("attempts=3"), "\(logs.all)")
        }
    }

    @Test("an answer Redis keeps refusing is given up when its request expires, not retried forever")
    func aRefusedAnswerIsGivenUpWithItsRequest() async throws {
        let clock = ManualClock()
        let logs = CapturedLogs()
        try await refusedAnswer(expiration: 30, clock: clock, logs: logs) { _, redis in
            // The request lives 29–30 s from now; the server retries at most every 2 s.
            var advanced = Duration.zero
            while !logs.contains("dropping an answer"), advanced < .seconds(60) {
                guard await clock.waitForSleepers(1, timeout: .seconds(30)) else { break }
                clock.advance(by: .seconds(1))
                advanced += .seconds(1)
                // Until the server has either slept again or given up.
                _ = await eventually(timeout: .seconds(30), every: .milliseconds(5)) {
                    clock.sleeperCount == 1 || logs.contains("dropping an answer")
                }
            }
            #expect(logs.contains("Redis did not take it while its request lived"), "\(logs.all)")
            #expect(advanced >= .seconds(26) && advanced <= .seconds(31), "given up after \(advanced)")
            // Dropped, not pushed later: Redis takes writes again and nothing arrives.
            #expect(try await redis.send(["CONFIG", "SET", "maxmemory", "0"]).isOK)
            clock.advance(by: .seconds(10))
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await redis.send(["LLEN", "msgbus.system.reply"]).integer == 0)
        }
    }

    @Test func theRetryWindowIsTheRequestsRemainingLifeBetweenFiveSecondsAndADay() {
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        func window(now: UInt64, expiration: UInt64) -> Duration {
            RMBServer.retryWindow(for: ServiceRequest(reference: "r", source: "7", command: "c", expiration: expiration, data: [],
                                                      tags: nil, schema: nil, now: now), at: at)
        }
        #expect(window(now: 1_800_000_000, expiration: 120) == .seconds(120))
        #expect(window(now: 1_799_999_950, expiration: 120) == .seconds(70))
        #expect(window(now: 1_700_000_000, expiration: 60) == .seconds(5))        // long expired: a last few tries
        #expect(window(now: 1_800_000_000, expiration: .max) == .seconds(86_400))
    }
}

actor Trail {
    private(set) var names: [String] = []
    func add(_ name: String) { names.append(name) }
}

struct Mark: RMBMiddleware {
    let name: String
    let trail: Trail
    func respond(to request: RMBIncomingRequest, next: RMBHandler) async throws -> RMBOutgoingResponse {
        await trail.add(name + ">")
        let response = try await next(request)
        await trail.add("<" + name)
        return response
    }
}

/// Holds handlers until the test opens it.
actor Gate {
    private(set) var isWaiting = false
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func pass() async {
        if isOpen { return }
        isWaiting = true
        await withCheckedContinuation { waiters.append($0) }
    }

    func open() {
        isOpen = true
        waiters.forEach { $0.resume() }
        waiters = []
    }
}

actor Gauge {
    private var current = 0
    private(set) var peak = 0
    func enter() { current += 1; peak = max(peak, current) }
    func leave() { current -= 1 }
}
