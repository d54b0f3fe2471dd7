/// Where a connection delivers the notifications of one subscription. The client builds it around
/// the continuation of the stream it hands out, so the connection stays free of element types.
struct SubscriptionSink: Sendable {
    /// What a notification meant for the subscription.
    enum Verdict: Sendable {
        /// Keep routing notifications.
        case more
        /// The node ended the subscription itself (e.g. a final transaction status): forget it.
        case ended
        /// The client gives up on it (undecodable notification): forget it and unsubscribe.
        case abandoned
    }

    /// Called (outside the connection's lock) for each notification, in arrival order.
    let deliver: @Sendable (Result<JSONValue, RPCError>) -> Verdict
    /// Ends the stream: with an error when the connection is lost, normally otherwise.
    let finish: @Sendable (RPCError?) -> Void
}

/// What the connection knows about one request while it waits for the answer.
enum RequestKind: Sendable {
    case call
    /// A subscribe request: the answer is the subscription id, under which `sink` is registered
    /// before any later frame is read, so no notification can slip past. `token` names the
    /// subscription for the consumer's cancellation (the node's id is not known up front).
    case subscribe(SubscriptionSink, unsubscribe: String, token: UInt64)
}

/// A successful answer.
enum Answer: Sendable {
    case value(JSONValue)
    /// The subscription is registered under this id.
    case subscribed(String)
}

/// A failed request, with whether its frame may have reached the node (the rule for requests
/// that must not be repeated, see ``SubstrateRPCClient``).
struct RequestFailure: Error, Sendable {
    let error: RPCError
    let written: Bool

    init(_ error: RPCError, written: Bool) {
        self.error = error
        self.written = written
    }
}
