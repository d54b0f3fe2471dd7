import Logging
import RMBProtocol
import Store

/// Tells local callers about requests that can no longer be delivered, with the reference's
/// "undeliverable" response on `ret` (peer.md §4.1: `src` empty, `now` 0, `err` set).
///
/// Used when a request's ttl runs out while it still sits in the outbox (no relay accepted it in
/// time): the reference would have failed at once; we retried until the deadline, and the
/// client learns it instead of waiting for a reply that cannot come.
struct UndeliverableReporter: Sendable {
    let store: Store
    let local: any LocalDelivery
    let logger: Logger

    /// Reports expired outbox requests found by the postman; their backlog shares their
    /// deadline, so it is read as of just before it.
    func reportExpired(_ entries: [OutboxEntry]) async {
        var backlogs: [String: BacklogEntry] = [:]
        for entry in entries where entry.kind == .request && backlogs[entry.uid] == nil {
            let justBefore = StoreTime(millis: entry.deadline.millis &- 1)
            backlogs[entry.uid] = (try? store.backlog.get(uid: entry.uid, now: justBefore)) ?? nil
        }
        await reportExpired(entries, backlogs: backlogs)
    }

    /// Reports expired outbox requests with their backlog entries (e.g. from an expiry sweep).
    func reportExpired(_ entries: [OutboxEntry], backlogs: [String: BacklogEntry]) async {
        var replies: [(replyTo: String, response: ClientResponse)] = []
        for entry in entries where entry.kind == .request {
            guard let backlog = backlogs[entry.uid], backlog.module.isEmpty, !backlog.replyTo.isEmpty else { continue }
            let error = JSONError(code: ProtocolError.expired.code,
                                  message: "request to twin \(entry.destination) expired before a relay accepted it")
            let response = ClientResponse.undeliverable(reference: backlog.reference, error: error)
            replies.append((backlog.replyTo, response))
        }
        guard !replies.isEmpty else { return }
        do {
            try await local.report(replies)
        } catch {
            logger.warning("could not report expired requests to their clients", metadata: ["error": "\(error)"])
        }
    }
}
