/// One JSON-RPC request as the replay node received it.
public struct ReplayRequest: Sendable, CustomStringConvertible {
    public let method: String
    public let params: [NodeJSON]
    /// The request id, echoed in the answer.
    public let id: NodeJSON
    /// Which connection it came on (1 for the node's first connection, …): lets a script behave
    /// differently after a reconnect.
    public let connection: Int
    /// 1-based position among all requests the node received.
    public let sequence: Int

    public var description: String { "#\(sequence) [conn \(connection)] \(method)(\(params.map(\.text).joined(separator: ", ")))" }
}

/// What the replay node does with a request.
public indirect enum ReplayReply: Sendable {
    /// `{"result": …}`.
    case result(NodeJSON)
    /// `{"error": {"code", "message", "data"?}}`.
    case error(code: Int, message: String, data: NodeJSON? = nil)
    /// Nothing, ever (a node that hangs).
    case noAnswer
    /// Close the TCP connection at once, without a WebSocket close frame (a node that dies).
    case closeConnection
    /// Answer with subscription id `id`, then send `notifications` (each after `interval`) as
    /// `{"method": method, "params": {"subscription": id, "result": …}}`, then `then`.
    /// `method` defaults to Substrate's notification name for the request (see ``notificationMethod(for:)``).
    /// Notifications stop once the client unsubscribes.
    case subscription(id: String, notifications: [NodeJSON], method: String? = nil,
                      interval: Duration = .milliseconds(20), then: SubscriptionEnd = .stayOpen)
    /// A raw text frame (need not be JSON).
    case raw(String)
    /// A raw binary frame.
    case rawBinary([UInt8])
    /// `reply` after a pause.
    case delayed(Duration, ReplayReply)
    /// Several replies, in order (e.g. garbage, then the answer).
    case sequence([ReplayReply])

    public enum SubscriptionEnd: Sendable {
        case stayOpen
        case closeConnection
    }
}

/// Decides the reply to each request; `nil` is "method not found" (-32601), except for an
/// unsubscribe of a live subscription, which is answered `true`.
public typealias ReplayScript = @Sendable (ReplayRequest) -> ReplayReply?

/// Substrate's notification method for a subscribe method (the field clients route by is the
/// subscription id, so this only matters for realism).
public func notificationMethod(for subscribeMethod: String) -> String {
    switch subscribeMethod {
    case "author_submitAndWatchExtrinsic": "author_extrinsicUpdate"
    case "chain_subscribeFinalizedHeads": "chain_finalizedHead"
    case "chain_subscribeNewHeads": "chain_newHead"
    case "chain_subscribeAllHeads": "chain_allHead"
    case "state_subscribeStorage": "state_storage"
    case "state_subscribeRuntimeVersion": "state_runtimeVersion"
    default: subscribeMethod
    }
}
