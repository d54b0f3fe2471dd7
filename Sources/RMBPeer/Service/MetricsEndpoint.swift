import Hummingbird
import Logging
import NIOCore
import Redundancy
import RMBEngine
import Store

/// `GET /metrics` (Prometheus text format) on a local address, when the operator asks for it
/// (`--metrics 127.0.0.1:9101`): the peer otherwise opens no listening port at all.
struct MetricsEndpoint: Sendable {
    let host: String
    let port: Int
    let metrics: PeerMetrics
    let relays: RelayPool
    let store: Store
    let logger: Logger

    func run() async {
        let router = Router()
        let metrics = self.metrics, relays = self.relays, store = self.store
        router.get("/metrics") { _, _ in
            let body = metrics.exposition(relays: await relays.status(), store: try? store.stats())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        var quiet = logger
        quiet.logLevel = .warning
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: nil), logger: quiet)
        logger.info("metrics endpoint listening", metadata: ["address": "http://\(host):\(port)/metrics"])
        do {
            try await app.run()
        } catch is CancellationError {
        } catch {
            logger.error("metrics endpoint failed", metadata: ["address": "\(host):\(port)", "error": "\(error)"])
        }
    }
}
