import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import RMBProtocol
import Synchronization

/// An in-process stand-in for a relay, for ``RelayConnection`` tests: a WebSocket server on
/// 127.0.0.1 that answers envelope pings with pongs (envelope.md §6) — or, once made
/// ``silent``, answers nothing while keeping the connection open, as a frozen relay does. Frames
/// handed to ``flood(_:)`` are written to the connected session as fast as it reads them (a
/// relay draining a big offline queue), each once: a frame written to a session that then dies
/// is not written again, as with a real relay.
final class FakeRelay: Sendable {
    let port: Int
    private let task: Task<Void, Never>
    private let shared: Shared

    struct State {
        var silent = false
        /// Pongs kept back until ``releasePongs()``.
        var holdingPongs = false
        var heldPongs: [[UInt8]] = []
        var pings = 0
        var sessions = 0
        var flood: [[UInt8]] = []
        var floodNext = 0
        /// Frames of the flood whose write completed (handed to the kernel).
        var floodWritten = 0
    }

    var url: String { "http://127.0.0.1:\(port)" }
    /// Envelope pings received (confirmations and probes), answered or not.
    var pings: Int { shared.state.withLock { $0.pings } }
    var sessions: Int { shared.state.withLock { $0.sessions } }

    func setSilent(_ silent: Bool) { shared.state.withLock { $0.silent = silent } }

    /// Keeps pongs back (a relay slow to answer) until ``releasePongs()``.
    func holdPongs() { shared.state.withLock { $0.holdingPongs = true } }
    /// Writes the pongs kept back, in order, and stops keeping them.
    func releasePongs() {
        shared.state.withLock { state in
            state.flood += state.heldPongs
            state.heldPongs = []
            state.holdingPongs = false
        }
    }

    /// Queues `frames` for the connected session (or the next one), written in order.
    func flood(_ frames: [[UInt8]]) { shared.state.withLock { $0.flood += frames } }
    var floodWritten: Int { shared.state.withLock { $0.floodWritten } }

    private init(port: Int, task: Task<Void, Never>, shared: Shared) {
        self.port = port; self.task = task; self.shared = shared
    }

    static func start() async throws -> FakeRelay {
        let shared = Shared()
        let bound = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "test.fake-relay")
        logger.logLevel = .critical
        // No server auto-ping: its pong would have to wait behind a flood the client is not
        // reading yet, and a stand-in must not close sessions a real relay keeps (ours judges
        // a client by any frame heard, heartbeats included).
        let server = HTTPServerBuilder.http1WebSocketUpgrade(configuration: .init(ws: .init(maxFrameSize: 1 << 22, autoPing: .disabled))) {
            (_: HTTPRequest, _: any Channel, _: Logger) async throws -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> in
            .upgrade([:]) { inbound, outbound, _ in
                shared.state.withLock { $0.sessions += 1 }
                let flooding = Task {
                    while !Task.isCancelled {
                        let next = shared.state.withLock { state -> [UInt8]? in
                            guard state.floodNext < state.flood.count else { return nil }
                            defer { state.floodNext += 1 }
                            return state.flood[state.floodNext]
                        }
                        guard let next else {
                            try await Task.sleep(for: .milliseconds(5))
                            continue
                        }
                        try await outbound.write(.binary(ByteBuffer(bytes: next)))
                        shared.state.withLock { $0.floodWritten += 1 }
                    }
                }
                defer { flooding.cancel() }
                for try await message in inbound.messages(maxSize: 1 << 22) {
                    guard case .binary(let buffer) = message,
                          var envelope = try? RMBEnvelope(wire: Array(buffer.readableBytesView)),
                          case .ping? = envelope.message else { continue }
                    let silent = shared.state.withLock { state -> Bool in
                        state.pings += 1
                        return state.silent
                    }
                    if silent { continue }
                    let source = envelope.source
                    envelope.source = envelope.destination
                    envelope.destination = source
                    envelope.message = .pong(RMBPong())
                    // Not awaited here: behind a flood the write waits for the client to read, and
                    // the pings after this one must still be read and counted meanwhile.
                    let pong = try envelope.wireBytes()
                    let held = shared.state.withLock { state -> Bool in
                        if state.holdingPongs { state.heldPongs.append(pong) }
                        return state.holdingPongs
                    }
                    if held { continue }
                    Task { try? await outbound.write(.binary(ByteBuffer(bytes: pong))) }
                }
            }
        }
        let app = Application(router: Router(context: BasicRequestContext.self), server: server,
                              configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
                              onServerRunning: { channel in bound.continuation.yield(channel.localAddress?.port ?? 0) },
                              logger: logger)
        let task = Task<Void, Never> { _ = try? await app.run() }
        var iterator = bound.stream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            throw FakeRelayError.notListening
        }
        return FakeRelay(port: port, task: task, shared: shared)
    }

    func stop() async {
        task.cancel()
        await task.value
    }

    /// The state, made before the server so its handler can reach it.
    private final class Shared: Sendable {
        let state = Mutex(State())
    }
}

enum FakeRelayError: Error { case notListening }

extension FakeRelay {
    /// The `index`-th request of a flood from twin 2 to twin 1 (unsigned; uid `flood-<index>`).
    static func floodRequest(_ index: Int, command: String, payload: Data, expiration: UInt64 = 3600) -> RMBEnvelope {
        var envelope = RMBEnvelope()
        envelope.uid = "flood-\(index)"
        envelope.timestamp = unixNow()
        envelope.expiration = expiration
        envelope.source = RMBAddress(twin: 2)
        envelope.destination = RMBAddress(twin: 1)
        var request = RMBRequest()
        request.command = command
        envelope.message = .request(request)
        envelope.payload = .plain(payload)
        return envelope
    }
}

/// A TCP port that accepts connections (the kernel completes them) and never reads or answers:
/// a relay that hangs before the WebSocket upgrade.
final class MuteListener: Sendable {
    let port: Int
    private let descriptor: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FakeRelayError.notListening }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { close(fd); throw FakeRelayError.notListening }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        descriptor = fd
        port = Int(UInt16(bigEndian: actual.sin_port))
    }

    var url: String { "http://127.0.0.1:\(port)" }

    deinit { close(descriptor) }
}
