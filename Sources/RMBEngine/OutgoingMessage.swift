import Foundation
import RMBProtocol

/// What the peer wants to send, before directory lookup, encryption, stamping and signing.
public struct OutgoingMessage: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case request(command: String)
        case response
        case error(code: UInt32, message: String)
    }

    public var uid: String
    public var destination: RMBAddress
    public var kind: Kind
    public var payload: [UInt8]
    public var schema: String?
    public var tags: String?
    /// Client time (0 = now); a past value shortens the ttl (stamp rule).
    public var timestamp: UInt64
    public var expiration: UInt64

    public init(uid: String, destination: RMBAddress, kind: Kind, payload: [UInt8] = [], schema: String? = nil,
                tags: String? = nil, timestamp: UInt64 = 0, expiration: UInt64) {
        self.uid = uid; self.destination = destination; self.kind = kind; self.payload = payload
        self.schema = schema; self.tags = tags; self.timestamp = timestamp; self.expiration = expiration
    }
}
