import RMBProtocol
import TwinDirectory

/// Why a batch could not be confirmed by a relay.
public enum RedundancyError: Error, Equatable, Sendable, CustomStringConvertible {
    case notConnected(RelayAddress)
    case connectionLost(RelayAddress)
    case confirmationTimeout(RelayAddress)
    case writeFailed(RelayAddress, String)
    /// No relay confirmed the batch; `unconfirmedCopies` relays got it written without confirming.
    case noRelayAvailable([String], unconfirmedCopies: Int = 0)

    /// Whether the frames may have reached the relay although it did not confirm them: the
    /// batch was written and then its pong never came. Sent again elsewhere, that is an extra copy.
    public var mayHaveReachedRelay: Bool {
        switch self {
        case .confirmationTimeout, .connectionLost: true
        case .notConnected, .writeFailed, .noRelayAvailable: false
        }
    }

    public var description: String {
        switch self {
        case .notConnected(let r): "relay \(r) is not connected"
        case .connectionLost(let r): "connection to relay \(r) was lost before the batch was confirmed"
        case .confirmationTimeout(let r): "relay \(r) did not confirm the batch in time"
        case .writeFailed(let r, let d): "write to relay \(r) failed: \(d)"
        case .noRelayAvailable(let reasons, _): "no relay accepted the batch: " + (reasons.isEmpty ? "no relay connected" : reasons.joined(separator: "; "))
        }
    }
}

/// A frame received from a relay, decoded once on arrival (the connection must look inside for
/// confirmation pongs anyway).
public struct InboundFrame: Sendable {
    public let relay: RelayAddress
    /// The envelope, or why the frame is not one (code 101).
    public let envelope: Result<RMBEnvelope, ProtocolError>
    /// The frame's size in bytes: what it weighs in the pool's buffer.
    public let size: Int

    public init(relay: RelayAddress, envelope: Result<RMBEnvelope, ProtocolError>, size: Int = 0) {
        self.relay = relay
        self.envelope = envelope
        self.size = size
    }
}
