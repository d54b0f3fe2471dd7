import LocalProcesses
import TwinDirectory
import Foundation
import Logging
import RMBTestSupport
@testable import RMBRelay

/// An in-process relay on a free loopback port, stopped by cancelling its task.
final class RelayHarness: @unchecked Sendable {
    let server: RelayServer
    let port: Int
    private let task: Task<Void, Never>

    var url: String { "ws://127.0.0.1:\(port)/" }
    var httpURL: String { "http://127.0.0.1:\(port)/" }
    var domain: String { "127.0.0.1:\(port)" }

    private init(server: RelayServer, port: Int, task: Task<Void, Never>) {
        self.server = server; self.port = port; self.task = task
    }

    /// `configure` gets a configuration with the Redis URL and host set; domains default to
    /// the relay's own `127.0.0.1:<port>` (so twins can list it). `clock` drives the relay's timers.
    static func start(redis: String, twins: any TwinDirectory, port: Int? = nil, clock: any Clock<Duration> = ContinuousClock(),
                      configure: (inout RelayConfiguration) -> Void = { _ in }) async throws -> RelayHarness {
        let port = try port ?? freeLoopbackPort()
        var configuration = RelayConfiguration(domains: ["127.0.0.1:\(port)"], redisURL: redis, host: "127.0.0.1", port: port)
        configure(&configuration)
        var logger = Logger(label: "test.relay.\(port)")
        logger.logLevel = ProcessInfo.processInfo.environment["RELAY_TEST_DEBUG"] != nil ? .debug : .warning
        let server = try RelayServer(configuration: configuration, twins: twins, logger: logger, clock: clock)
        let task = Task<Void, Never> { _ = try? await server.run() }
        let bound = try await withDeadline(.seconds(10)) { try await server.boundPort() }
        return RelayHarness(server: server, port: bound, task: task)
    }

    func stop() async {
        task.cancel()
        _ = await task.value
    }
}

struct TimeoutError: Error, CustomStringConvertible {
    var description: String { "timed out" }
}

/// `RedisServer.start()` with a few retries: parallel tests occasionally race for ports.
func startRedis() async throws -> RedisServer {
    var lastError: any Error = TimeoutError()
    for _ in 0..<4 {
        do { return try await onThread { try RedisServer.start() } } catch {
            lastError = error
            try await Task.sleep(for: .milliseconds(100))
        }
    }
    throw lastError
}
