import Foundation
import Hummingbird
import LocalProcesses
import Logging
import NIOCore
import RMBProtocol

/// A fake federation destination on a loopback port: answers every `POST /` with a status the
/// test sets (5xx to play a failing relay, 202 to accept), counts requests, and keeps the uids
/// of the envelopes it accepted. Stopped by cancelling its task.
final class StubRelay: @unchecked Sendable {
    private let lock = NSLock()
    private var status: HTTPResponse.Status
    private var requests = 0
    private var accepted: [String] = []
    private var task: Task<Void, Never>?
    private(set) var port = 0

    var url: String { "http://127.0.0.1:\(port)" }
    var requestCount: Int { lock.withLock { requests } }
    var acceptedUIDs: [String] { lock.withLock { accepted } }

    init(status: HTTPResponse.Status) { self.status = status }

    func answer(_ status: HTTPResponse.Status) { lock.withLock { self.status = status } }

    static func start(status: HTTPResponse.Status) async throws -> StubRelay {
        let stub = StubRelay(status: status)
        let router = Router()
        router.post("/") { request, _ in
            let body = try await request.body.collect(upTo: 8 << 20)
            let status = stub.record(Array(body.readableBytesView))
            return Response(status: status)
        }
        let (bound, boundContinuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "test.stub-relay")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in boundContinuation.yield(channel.localAddress?.port ?? 0) },
                              logger: logger)
        stub.task = Task { try? await app.runService() }
        let box = IntIteratorBox(bound.makeAsyncIterator())
        stub.port = try await withDeadline(.seconds(10)) { await box.next() ?? 0 }
        return stub
    }

    private func record(_ body: [UInt8]) -> HTTPResponse.Status {
        lock.withLock {
            requests += 1
            if status == .accepted, let envelope = try? RMBEnvelope(wire: body) { accepted.append(envelope.uid) }
            return status
        }
    }

    func stop() async {
        task?.cancel()
        _ = await task?.value
    }
}

final class IntIteratorBox: @unchecked Sendable {
    var iterator: AsyncStream<Int>.AsyncIterator
    init(_ iterator: AsyncStream<Int>.AsyncIterator) { self.iterator = iterator }
    func next() async -> Int? { await iterator.next() }
}

/// A twin file (TOML) for `rmb-relay --twins`, removed by `remove()`.
struct TwinsFile {
    let path: String

    init(_ entries: [(TestIdentity, [String])]) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("twins-\(UUID().uuidString).toml").path
        var toml = ""
        for (identity, relays) in entries {
            toml += "[[twin]]\nid = \(identity.twin)\naccount = \"\(identity.identity.account.hex)\"\nrelays = [\(relays.map { "\"\($0)\"" }.joined(separator: ", "))]\n\n"
        }
        try toml.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

extension RelayProcess {
    /// Waits until the child answers `GET /metrics` on `port`.
    func waitUp(port: Int, timeout: Duration = .seconds(20)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let reply = try? await RawHTTP.send(port: port, request: "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout: 1),
               reply.status == 200 { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
func eventually(_ timeout: Duration = .seconds(10), every step: Duration = .milliseconds(50),
                _ condition: @Sendable () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: step)
    }
    return try await condition()
}
