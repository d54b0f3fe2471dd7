/// Failures of tfchain reads and writes, each with a message an operator can act on.
public enum TFChainError: Error, Sendable, CustomStringConvertible {
    /// The chain's data does not match what RMB expects (wrong id, undecodable value).
    case inconsistentRecord(String)
    /// The runtime's metadata lacks something RMB needs or has a different shape.
    case runtimeMismatch(String)
    /// The signing account has no twin on this chain (the peer never creates twins).
    case noTwin(account: String)
    /// The relay list cannot be written on chain (twins.md §1: host names only).
    case invalidRelayField(String)
    /// The node refused the transaction, or it was dropped / invalidated / usurped.
    case transactionRejected(String)
    /// The extrinsic was included but its dispatch failed (e.g. a module error).
    case extrinsicFailed(String)
    /// The transaction was not finalized within the bounded wait.
    case notFinalized(waited: Duration, lastStatus: String)
    /// The finalized block carries no `TwinUpdated` event for our extrinsic.
    case missingEvent(String)
    /// The node could not be reached or answered with an error.
    case node(String)
    /// The node accepted the transaction, then the connection ended before its outcome, and the
    /// twin record did not show the change within the wait: it may still land (until its
    /// mortality ends) or not.
    case outcomeUnknown(String)

    /// Whether the caller must change something (no twin for this key, a relay list the chain
    /// refuses) rather than retry later: the CLI exits 2 for these, as for any bad input, and 1
    /// for the chain's own failures.
    public var isCallersMistake: Bool {
        switch self {
        case .noTwin, .invalidRelayField: true
        case .inconsistentRecord, .runtimeMismatch, .transactionRejected, .extrinsicFailed, .notFinalized, .missingEvent, .node,
             .outcomeUnknown: false
        }
    }

    public var description: String {
        switch self {
        case .inconsistentRecord(let detail): "inconsistent chain data: \(detail)"
        case .runtimeMismatch(let detail): "tfchain runtime mismatch: \(detail)"
        case .noTwin(let account): "no twin found on this network with given key (account \(account))"
        case .invalidRelayField(let detail): "invalid relay list for the chain: \(detail)"
        case .transactionRejected(let detail): "transaction rejected: \(detail)"
        case .extrinsicFailed(let detail): "update_twin failed on chain: \(detail)"
        case .notFinalized(let waited, let status): "transaction not finalized after \(waited) (last status: \(status))"
        case .missingEvent(let detail): "no TwinUpdated event: \(detail)"
        case .node(let detail): "tfchain node error: \(detail)"
        case .outcomeUnknown(let detail): "outcome unknown: \(detail)"
        }
    }
}
