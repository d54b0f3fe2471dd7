import Foundation
import Logging
import RMBClient
import RMBDirectPeer
import RMBIdentity
import RMBTestSupport
import RMBTesting
import ServiceLifecycle
import Synchronization
import Testing
import TwinDirectory

/// Direct peers (the engine in process, no rmb-peer, no Redis) through real `rmb-relay`
/// processes, against each other and against services and callers behind real `rmb-peer`s.
@Suite("RMBDirectPeer through real relays", .serialized, .timeLimit(.minutes(3)))
struct DirectPeerTests {
    struct Operands: Codable { var a: Int; var b: Int }
    struct Sum: Codable, Equatable { var sum: Int; var caller: UInt32 }

    static var calculator: RMBRouter {
        var router = RMBRouter()
        router.group("calc") { calc in
            calc.handle("add") { (input: Operands, request) in Sum(sum: input.a + input.b, caller: request.twin) }
            calc.handle("fail") { _ in throw RMBServiceError(code: 7, "refused") }
            calc.handle("slow") { _ in
                try await Task.sleep(for: .seconds(30))
                return RMBOutgoingResponse(payload: [])
            }
        }
        return router
    }

    @Test("direct peer ↔ direct peer (in-process network): calls, remote errors, no handler, unknown twin, thousands at once",
          arguments: [true, false])
    func directToDirect(e2e: Bool) async throws {
        try await RMBTestNetwork.run(e2e: e2e) { network in
            let service = try await network.addTwin(router: Self.calculator)
            let caller = try await network.addTwin()

            let sum: Sum = try await caller.call(twin: service.id, "calc.add", Operands(a: 40, b: 2), timeout: .seconds(30))
            #expect(sum == Sum(sum: 42, caller: caller.id))
            let version: String = try await caller.call(twin: service.id, "rmb.version", timeout: .seconds(30))
            #expect(version.hasSuffix("-swift"))
            await #expect(throws: RMBCallError.remote(code: 7, message: "refused", source: "\(service.id)")) {
                let _: Sum = try await caller.call(twin: service.id, "calc.fail", Operands(a: 0, b: 0), timeout: .seconds(30))
            }
            await #expect(throws: RMBCallError.remote(code: 404, message: "no handler for calc.nothing", source: "\(service.id)")) {
                let _: Sum = try await caller.call(twin: service.id, "calc.nothing", Operands(a: 0, b: 0), timeout: .seconds(30))
            }
            // An unknown twin is known at once, from the directory.
            let started = ContinuousClock.now
            let unknown = try await caller.call(twins: [service.id, 999], "calc.add", Operands(a: 1, b: 1), as: Sum.self, timeout: .seconds(30))
            #expect(try unknown[service.id]?.get() == Sum(sum: 2, caller: caller.id))
            guard case .failure(.remote(_, _, let source))? = unknown[999] else {
                Issue.record("twin 999 does not exist: \(String(describing: unknown[999]))")
                return
            }
            #expect(source == "")
            // A twin looked for until the timeout would fail as `.timeout` after 30 s; the bound
            // only says the answer came well before it (a loaded CI machine takes seconds per round trip).
            #expect(ContinuousClock.now - started < .seconds(20))

            let answered = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<2000 {
                    group.addTask {
                        let reply: Sum = try await caller.call(twin: service.id, "calc.add", Operands(a: index, b: 1), timeout: .seconds(60))
                        return reply.sum == index + 1
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(answered == 2000)
        }
    }

    /// The README's and RMBTestNetwork's example, kept compiling and passing.
    @Test("the RMBTesting example: a handler and a call in an in-process network")
    func readmeExample() async throws {
        var router = RMBRouter()
        router.handle("calculator.add") { (input: [Int], _) in input.reduce(0, +) }
        try await RMBTestNetwork.run { network in
            let service = try await network.addTwin(router: router)
            let caller = try await network.addTwin()
            let sum: Int = try await caller.call(twin: service.id, "calculator.add", [40, 2])
            #expect(sum == 42)
        }
    }

    @Test("timeouts and cancellation end a call; the peer goes on")
    func timeoutAndCancellation() async throws {
        try await RMBTestNetwork.run { network in
            let service = try await network.addTwin(router: Self.calculator)
            let caller = try await network.addTwin()
            let started = ContinuousClock.now
            let ended = await #expect(throws: RMBCallError.self) {
                _ = try await caller.call(twin: service.id, "calc.slow", payload: [], timeout: .seconds(1))
            }
            // The call ends at its deadline: with no reply, or, when the relay did not confirm the
            // request within its 1-s lifetime (a loaded machine), with the local peer saying so.
            switch ended {
            case .timeout(.seconds(1))?, .remote(code: 102, message: _, source: "")?: break
            default: Issue.record("the call ended with \(String(describing: ended))")
            }
            #expect(ContinuousClock.now - started < .seconds(5))
            let call = Task { try await caller.call(twin: service.id, "calc.slow", payload: [], timeout: .seconds(60)) }
            try await Task.sleep(for: .milliseconds(300))
            let cancelledAt = ContinuousClock.now
            call.cancel()
            await #expect(throws: RMBCallError.cancelled) { _ = try await call.value }
            // Well before the 60-s timeout: the cancellation ended it, not the clock.
            #expect(ContinuousClock.now - cancelledAt < .seconds(15))
            let sum: Sum = try await caller.call(twin: service.id, "calc.add", Operands(a: 1, b: 2), timeout: .seconds(30))
            #expect(sum.sum == 3)
        }
    }

    @Test("a graceful stop lets the handlers in flight answer before the peer stops; its metrics count what it did")
    func gracefulStop() async throws {
        try await RMBTestNetwork.run { network in
            let started = Trail()
            var router = RMBRouter()
            router.handle("work.slow") { (input: Int, _) in
                started.append("\(input)")
                try await Task.sleep(for: .milliseconds(500))
                return input * 2
            }
            let identity = try Identity(secret: try MiniSecret(bytes: (0..<32).map { _ in UInt8.random(in: 0...255) }), keyType: .sr25519)
            let serviceID: UInt32 = 900
            network.directory.upsert(Twin(id: serviceID, account: identity.account, relays: [network.relay], e2ePublicKey: identity.e2ePublicKey))
            var configuration = RMBDirectPeer.Configuration(identity: identity)
            configuration.drainTimeout = .seconds(10)
            let logger = RMBTestNetwork.defaultLogger
            let service = try await RMBDirectPeer(configuration: configuration, directory: network.directory, router: router, logger: logger)
            let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
            let running = Task { try await group.run() }
            let caller = try await network.addTwin()

            let calls = (0..<20).map { index in
                Task { try await caller.call(twin: serviceID, "work.slow", index, as: Int.self, timeout: .seconds(30)) }
            }
            let deadline = ContinuousClock.now + .seconds(20)
            while started.entries.count < 20, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(started.entries.count == 20)

            // Every handler is in its 500-ms sleep: the stop waits for their answers to go out.
            let stopBegan = ContinuousClock.now
            await group.triggerGracefulShutdown()
            try await running.value
            #expect(ContinuousClock.now - stopBegan < .seconds(10))
            for (index, call) in calls.enumerated() {
                #expect(try await call.value == index * 2)
            }
            await #expect(throws: RMBCallError.transport("the direct peer is stopping")) {
                _ = try await service.call(twin: caller.id, "rmb.version", as: String.self, timeout: .seconds(5))
            }

            // The metrics, as rmb-peer's /metrics names them: 20 requests in, 20 answers out.
            let metrics = await service.metricsText()
            func value(_ name: String) -> Int? {
                metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Int($0.split(separator: " ")[1]) }
            }
            #expect(value("rmb_peer_envelopes_received_total") == 20)
            #expect(value("rmb_peer_envelopes_sent_total") == 20)
        }
    }

    @Test("middleware runs outermost first around a direct peer's handlers; an allow-list refuses other twins")
    func middlewareOrder() async throws {
        let trail = Trail()
        var router = RMBRouter()
        router.use(Recording(name: "outer", trail: trail))
        router.group("guarded") { guarded in
            guarded.use(Recording(name: "group", trail: trail))
            guarded.handle("echo") { request in
                trail.append("handler")
                return RMBOutgoingResponse(payload: request.payload)
            }
        }
        try await RMBTestNetwork.run { network in
            let allowed = try await network.addTwin()
            let other = try await network.addTwin()
            router.use(RMBAllowTwinsMiddleware([allowed.id]))
            let service = try await network.addTwin(router: router)
            let reply = try await allowed.call(twin: service.id, "guarded.echo", payload: Array("hi".utf8), timeout: .seconds(30))
            #expect(reply.payload == Array("hi".utf8))
            #expect(reply.twin == service.id)
            #expect(trail.entries == ["outer in", "group in", "handler", "group out", "outer out"])
            await #expect(throws: RMBCallError.remote(code: 403, message: "twin \(other.id) may not call guarded.echo", source: "\(service.id)")) {
                _ = try await other.call(twin: service.id, "guarded.echo", payload: [], timeout: .seconds(30))
            }
        }
    }

    @Test("interoperability: a direct peer calls a service behind rmb-peer, an rmb-peer client calls a direct peer",
          arguments: [true, false])
    func interoperability(e2e: Bool) async throws {
        let network = try await LocalNetwork.start(relays: 2, peers: [
            .init(twin: 1, identity: 0, relays: [0], e2e: e2e),
        ], directTwins: [
            .init(twin: 2, identity: 1, relays: [1], e2e: e2e),
        ])
        defer { network.shutdown() }
        let direct = try await DirectPeerHarness.start(network, twin: 2, identity: 1, router: Self.calculator)
        defer { direct.stop() }
        // Twin 1: the same calculator served through rmb-peer's Redis.
        let server = try RMBServer(router: Self.calculator, redisURL: network.peers[0].redisURL)
        let serving = Task { try await server.run() }
        defer { serving.cancel() }
        let client = try RMBClient(redisURL: network.peers[0].redisURL)
        defer { client.close() }

        let fromDirect: Sum = try await direct.peer.call(twin: 1, "calc.add", Operands(a: 2, b: 3), timeout: .seconds(30))
        #expect(fromDirect == Sum(sum: 5, caller: 2))
        let fromRedis: Sum = try await client.call(twin: 2, "calc.add", Operands(a: 4, b: 5), timeout: .seconds(30))
        #expect(fromRedis == Sum(sum: 9, caller: 1))
        await #expect(throws: RMBCallError.remote(code: 7, message: "refused", source: "2")) {
            let _: Sum = try await client.call(twin: 2, "calc.fail", Operands(a: 0, b: 0), timeout: .seconds(30))
        }
        await #expect(throws: RMBCallError.remote(code: 7, message: "refused", source: "1")) {
            let _: Sum = try await direct.peer.call(twin: 1, "calc.fail", Operands(a: 0, b: 0), timeout: .seconds(30))
        }
        // Both ways at once, many calls.
        async let forth = withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<300 {
                group.addTask { try await direct.peer.call(twin: 1, "calc.add", Operands(a: index, b: 0), as: Sum.self, timeout: .seconds(60)).sum }
            }
            return try await group.reduce(0, +)
        }
        async let back = withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<300 {
                group.addTask { try await client.call(twin: 2, "calc.add", Operands(a: index, b: 0), as: Sum.self, timeout: .seconds(60)).sum }
            }
            return try await group.reduce(0, +)
        }
        let expected = (0..<300).reduce(0, +)
        #expect(try await forth == expected)
        #expect(try await back == expected)
    }
}

/// A direct peer of a ``LocalNetwork`` twin (`directTwins`), running in a task of its own.
final class DirectPeerHarness: Sendable {
    let peer: RMBDirectPeer
    private let task: Task<Void, Never>

    private init(peer: RMBDirectPeer, task: Task<Void, Never>) { self.peer = peer; self.task = task }

    static func start(_ network: LocalNetwork, twin: UInt32, identity index: Int, router: RMBRouter = RMBRouter(),
                      store: RMBDirectPeer.StoreLocation = .none) async throws -> DirectPeerHarness {
        let identity = try Identity(parsing: try LocalNetwork.identities()[index].mnemonic, keyType: .sr25519)
        var configuration = RMBDirectPeer.Configuration(identity: identity)
        configuration.store = store
        var logger = Logger(label: "direct-peer-\(twin)")
        logger.logLevel = ProcessInfo.processInfo.environment["RMB_TEST_DEBUG"] == "1" ? .debug : .warning
        let directory = try LocalTwinDirectory(path: network.twinsFile.path)
        let peer = try await RMBDirectPeer(configuration: configuration, directory: directory, router: router, logger: logger)
        let task = Task { _ = try? await peer.run() }
        // Connected once a call to itself is answered (the version plugin).
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if (try? await peer.call(twin: twin, "rmb.version", as: String.self, timeout: .seconds(2))) != nil {
                return DirectPeerHarness(peer: peer, task: task)
            }
        }
        task.cancel()
        throw LocalNetwork.Failure.timeout("direct peer of twin \(twin) never answered itself")
    }

    func stop() { task.cancel() }
}

/// What the middleware saw, in order.
final class Trail: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var entries: [String] { lines.withLock { $0 } }
}

struct Recording: RMBMiddleware {
    let name: String
    let trail: Trail

    func respond(to request: RMBIncomingRequest, next: RMBHandler) async throws -> RMBOutgoingResponse {
        trail.append("\(name) in")
        defer { trail.append("\(name) out") }
        return try await next(request)
    }
}
