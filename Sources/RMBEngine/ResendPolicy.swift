import Store

/// When a confirmed request still without a reply is sent again (issue 5). Relay confirmation
/// is not delivery, and a reply written to this peer's socket is gone from the relay even if
/// this peer never stored it, so an unanswered request is re-sent with the same uid and signed
/// bytes; the responder's inbox drops the copy for its service and answers it with the reply it
/// kept, if it already answered.
///
/// - After a restart every kept request is re-sent once (replies in flight while the peer was
///   down are lost for sure).
/// - While running, a request unanswered after half of its remaining ttl is re-sent, then again
///   after half of what remains, at most `maximumResends` times and never less than
///   `minimumInterval` apart: ttl 120 s → at 60, 90, 105 s. Most requests are answered long
///   before the first mark, so this costs nothing in the normal case, and a slow service costs
///   one dropped duplicate per mark at the responder.
struct ResendPolicy: Sendable {
    var minimumInterval: Int64 = 10_000
    var maximumResends: UInt32 = 3

    /// The next periodic re-send of a request that was re-sent `resends` times, or nil for none.
    func next(after now: StoreTime, deadline: StoreTime, resends: UInt32) -> StoreTime? {
        guard resends < maximumResends, deadline > now else { return nil }
        let half = Int64(clamping: (deadline.millis - now.millis) / 2)
        let next = now.adding(milliseconds: max(half, minimumInterval))
        return next < deadline ? next : nil
    }
}
