import Foundation
import Logging
import Redundancy
import Store

/// Writes `<store>/status.json` every few seconds: each relay's state, rank, last round trip
/// and failures, and the store's queue depths. `rmb peer status --store DIR` prints it; a file
/// needs no port and works for a peer that runs as another user.
struct StatusReporter: Sendable {
    let peer: PeerIdentity
    let relays: RelayPool
    let store: Store
    let logger: Logger
    var interval: Duration = .seconds(2)

    func run() async {
        let path = store.path + "/status.json"
        while !Task.isCancelled {
            do {
                let data = try await snapshot()
                let temporary = path + ".tmp"
                try data.write(to: URL(fileURLWithPath: temporary))
                _ = rename(temporary, path)
            } catch {
                logger.debug("could not write status", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }

    func snapshot() async throws -> Data {
        var relayList: [[String: Any]] = []
        for health in await relays.status() {
            var entry: [String: Any] = [
                "relay": health.relay.canonical,
                "state": health.displayState,
                "rank": health.rank.isFinite ? health.rank : -1,
                "recent_failures": health.recentFailures,
                "confirmed_batches": health.confirmedBatches,
                "hedged_batches": health.hedges,
            ]
            if let rtt = health.lastRoundTrip {
                entry["last_round_trip_ms"] = Double(rtt.components.seconds) * 1000 + Double(rtt.components.attoseconds) / 1e15
            }
            if let error = health.lastError { entry["last_error"] = error }
            relayList.append(entry)
        }
        let stats = try store.stats()
        let object: [String: Any] = [
            "twin": peer.twinID,
            "account": peer.identity.account.ss58,
            "time": Int(Date().timeIntervalSince1970),
            "relays": relayList,
            "store": [
                "outbox": stats.outbox.entries,
                "inbox_keys": stats.inbox.entries,
                "inbox_pending": stats.inboxPending,
                "backlog": stats.backlog.entries,
                "awaiting_reply": stats.awaiting.entries,
                "map_used_bytes": stats.mapUsedBytes,
                "map_size": stats.mapSize,
            ] as [String: Any],
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }
}
