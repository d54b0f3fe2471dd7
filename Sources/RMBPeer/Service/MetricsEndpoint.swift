import Hummingbird
import Logging
import NIOCore
import Redundancy
import RMBEngine
import Store
import Synchronization

/// `GET /metrics` (Prometheus text format) on a local address, when the operator asks for it
/// (`--metrics 127.0.0.1:9101`): the peer otherwise opens no listening port at all. Port 0 takes
/// any free port; the one taken is logged.
struct MetricsEndpoint: Sendable {
    let host: String
    let port: Int
    let metrics: PeerMetrics
    let relays: RelayPool
    let store: Store
    let logger: Logger

    /// Serves until cancelled or a graceful shutdown. `listening` runs once the socket listens
    /// (the port it got is logged); throws ``PeerError/metricsUnavailable(_:_:)`` when it cannot listen (the
    /// caller then does not start the peer: the operator asked for metrics). A failure after
    /// that is logged; the peer goes on without metrics.
    func run(listening: @escaping @Sendable () -> Void) async throws(PeerError) {
        let listened = ListenedFlag()
        let router = Router()
        let metrics = self.metrics, relays = self.relays, store = self.store, logger = self.logger, host = self.host
        router.get("/metrics") { _, _ in
            let body = metrics.exposition(relays: await relays.status(), store: try? store.stats())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        var quiet = logger
        quiet.logLevel = .warning
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: nil),
                              onServerRunning: { channel in
                                  let bound = channel.localAddress?.port ?? port
                                  logger.info("metrics endpoint listening", metadata: ["address": "http://\(host):\(bound)/metrics"])
                                  listened.value.store(true, ordering: .releasing)
                                  listening()
                              }, logger: quiet)
        do {
            try await app.run()
        } catch is CancellationError {
        } catch where listened.value.load(ordering: .acquiring) {
            logger.error("metrics endpoint failed", metadata: ["address": "\(host):\(port)", "error": "\(error)"])
        } catch {
            throw .metricsUnavailable("\(host):\(port)", "\(error)")
        }
    }

    private final class ListenedFlag: Sendable {
        let value = Atomic(false)
    }
}
