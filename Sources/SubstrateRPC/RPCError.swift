/// Why a chain request failed.
///
/// The failover loop sorts errors in two groups: `transport` and `timeout` mean "this node or this
/// connection is unusable" and lead to a reconnect on the next URL; everything else is final and
/// returned at once (spec twins.md §4 "Chain client failover").
public indirect enum RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The connection could not be made, was lost, or a frame could not be written.
    case transport(String)
    /// No answer (connect included) within the per-attempt bound.
    case timeout(method: String, after: Duration)
    /// The node answered with a JSON-RPC error object (`data`, when present, is appended to the message).
    case server(code: Int, message: String)
    /// The node answered, but not with what the method promises (wrong shape, bad hex …).
    case invalidResponse(String)
    /// Every attempt of the failover loop failed with a transport error or timeout.
    case allAttemptsFailed(urls: [String], attempts: Int, lastError: RPCError?)
    /// A request that must not be repeated (an extrinsic submission) was written to a node, then
    /// the connection failed before an answer: the node may have accepted it. The caller decides
    /// (e.g. checks the account nonce or waits for the transaction on chain).
    case outcomeUnknown(method: String, reason: String)
    /// The calling task was cancelled.
    case cancelled
    /// ``SubstrateRPCClient/close()`` was called.
    case closed

    /// Whether the failover loop reconnects (to the next URL) and tries again.
    var isTransportFailure: Bool {
        switch self {
        case .transport, .timeout: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .transport(let reason):
            "chain transport error: \(reason)"
        case .timeout(let method, let after):
            "chain request \(method) timed out after \(after)"
        case .server(let code, let message):
            "chain node error \(code): \(message)"
        case .invalidResponse(let reason):
            "invalid chain response: \(reason)"
        case .allAttemptsFailed(let urls, let attempts, let lastError):
            if urls.isEmpty {
                "no chain URL configured"
            } else {
                "chain unreachable after \(attempts) attempts over \(urls.joined(separator: ", "))"
                    + (lastError.map { "; last error: \($0)" } ?? "")
            }
        case .outcomeUnknown(let method, let reason):
            "\(method): outcome unknown, the request reached the node but no answer came back (\(reason))"
        case .cancelled:
            "chain request cancelled"
        case .closed:
            "chain client closed"
        }
    }
}
