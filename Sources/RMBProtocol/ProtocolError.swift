/// Peer protocol failures with their wire codes and texts (envelope.md §7). The texts are the
/// reference's `Display` output so that applications matching on them keep working.
public enum ProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// 100: a non-binary WebSocket frame (logged only).
    case invalidPayloadType
    /// 101: the frame is not a protobuf Envelope (logged only).
    case invalidPayloadData(String)
    /// 102: the envelope's ttl is over.
    case expired
    /// 103: source (incoming) or destination (outgoing) twin is not on the directory.
    case unknownTwin(UInt32)
    /// 104: bad, missing or short signature, or unknown type byte.
    case invalidSignature(String)
    /// 105: `cipher` received but the sender twin publishes no e2e key.
    case senderHasNoPublicKey
    /// 106: e2e failure (bad key, decryption failure).
    case e2e(String)
    /// 500: anything else (directory lookup failure, Redis failure…).
    case other(String)

    public var code: UInt32 {
        switch self {
        case .invalidPayloadType: 100
        case .invalidPayloadData: 101
        case .expired: 102
        case .unknownTwin: 103
        case .invalidSignature: 104
        case .senderHasNoPublicKey: 105
        case .e2e: 106
        case .other: 500
        }
    }

    public var description: String {
        switch self {
        case .invalidPayloadType: "invalid message payload type"
        case .invalidPayloadData(let detail): "invalid message payload data: \(detail)"
        case .expired: "envelope validation error: message has expired"
        case .unknownTwin(let id): "unknown twin id '\(id)'"
        case .invalidSignature(let detail): "invalid envelope signature: \(detail)"
        case .senderHasNoPublicKey: "sender twin has no public key"
        case .e2e(let detail): "e2e error: \(detail)"
        case .other(let detail): "other: \(detail)"
        }
    }

    /// The `Error` message carried in an error envelope or a JSON `err` object.
    public var wireError: RMBError {
        var error = RMBError()
        error.code = code
        error.message = description
        return error
    }
}

/// Texts of the code-0 errors a relay returns (envelope.md §7). Peers and SDKs match on them.
public enum RelayErrorText {
    public static let wrongSource = "message wrong source"
    public static let missingDestination = "message with missing destination"
    public static let unknownDestination = "unknown twin destination"
    public static let relayNotSet = "relay info is not set for this twin"
    public static let destinationOffline = "destination offline"
    public static let rateLimited = "exceeded rate limits, dropping message"
    public static let expired = "message has expired"
    /// Ours, not the reference's: a relay that cannot reach the destination's relays before the
    /// envelope expires says so while the request still lives (the reference waits for the
    /// expiry and then sends `expired`). Starts with `undeliverablePrefix`.
    public static func undeliverable(_ reason: String) -> String { undeliverablePrefix + reason }
    public static let undeliverablePrefix = "cannot reach the destination's relay before the message expires: "
    public static func routeFailed(_ address: String, _ detail: String) -> String {
        "failed to route message to peer '\(address)': \(detail)"
    }
}
