import Logging

/// Delivers a session's offline stream (relay.md §6): on connect and whenever the stream gets
/// new entries while the session is here (wake-ups from siblings, write fallbacks). Entries are
/// read oldest first after the last id delivered on this connection, handed to the session's
/// writer (which XDELs them right after the write), with back-pressure on the session's queue.
struct StreamDelivery: Sendable {
    let store: RelayStore
    /// The back-off after a failed read runs on it; the waits for room in the session's queue
    /// are polls (another task empties it) and stay on real time.
    let clock: any Clock<Duration>
    let logger: Logger
    let batch = 100

    func drain(_ session: Session) async {
        guard session.beginDrain() else { return }
        var again = true
        while again {
            var last = session.lastStreamID
            var failures = 0
            while !session.isClosed && !Task.isCancelled {
                let entries: [(id: String, fields: [[UInt8]])]
                do {
                    entries = try await store.read(session.id, after: last, count: batch)
                    failures = 0
                } catch {
                    failures += 1
                    if failures == 1 { logger.warning("reading stream failed", metadata: ["session": "\(session.id)", "error": "\(error)"]) }
                    try? await clock.sleep(for: .milliseconds(min(2000, 100 * failures)), tolerance: nil)
                    continue
                }
                if entries.isEmpty { break }
                for entry in entries {
                    last = entry.id
                    // An entry must have exactly one field/value pair.
                    guard entry.fields.count == 2 else {
                        logger.warning("skipping malformed stream entry", metadata: ["session": "\(session.id)", "id": "\(entry.id)"])
                        continue
                    }
                    while !session.enqueue(.stored(id: entry.id, bytes: entry.fields[1])) {
                        if session.isClosed { break }
                        try? await Task.sleep(for: .milliseconds(5))
                    }
                }
                // Keep at most about one batch ahead of the socket.
                while session.queuedCount > batch && !session.isClosed { try? await Task.sleep(for: .milliseconds(2)) }
            }
            again = session.endDrain(lastID: last)
        }
    }
}
