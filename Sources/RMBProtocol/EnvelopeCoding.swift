import Foundation
import SwiftProtobuf

/// Wire encoding of envelopes. Parsing keeps unknown fields (a relay forwards what it does not
/// understand) and fails on malformed protobuf or invalid UTF-8 (envelope.md §1).
extension RMBEnvelope {
    /// Decodes a binary frame. Errors carry SwiftProtobuf's reason, for code 101.
    public init(wire bytes: some Collection<UInt8>) throws(ProtocolError) {
        do {
            self = try RMBEnvelope(serializedBytes: Array(bytes))
        } catch {
            throw .invalidPayloadData(String(describing: error))
        }
    }

    /// Standard encoding: ascending field numbers.
    public func wireBytes() throws(ProtocolError) -> [UInt8] {
        do {
            return try serializedBytes()
        } catch {
            throw .other("failed to encode envelope: \(error)")
        }
    }

    /// The reference's layout: non-oneof fields (1–6, 9–11, 17) first, then the `message`
    /// oneof, then the `payload` oneof. Parsers accept both; tests compare against it.
    public func wireBytesInOriginalOrder() throws(ProtocolError) -> [UInt8] {
        var plainFields = self
        plainFields.message = nil
        plainFields.payload = nil
        plainFields.unknownFields = UnknownStorage()
        var messageOnly = RMBEnvelope()
        messageOnly.message = message
        var payloadOnly = RMBEnvelope()
        payloadOnly.payload = payload
        var unknownOnly = RMBEnvelope()
        unknownOnly.unknownFields = unknownFields
        // Concatenated protobuf encodings merge into one message; each part is small.
        var out = try plainFields.wireBytes()
        out += try messageOnly.wireBytes()
        out += try payloadOnly.wireBytes()
        out += try unknownOnly.wireBytes()
        return out
    }

    /// Kind of the `message` oneof as text (for logs and the CLI).
    public var messageKind: String {
        switch message {
        case .request?: "request"
        case .response?: "response"
        case .error?: "error"
        case .ping?: "ping"
        case .pong?: "pong"
        case nil: "none"
        }
    }

    /// Kind of the `payload` oneof as text.
    public var payloadKind: String {
        switch payload {
        case .plain?: "plain"
        case .cipher?: "cipher"
        case nil: "none"
        }
    }
}

extension RMBBacklog {
    public init(wire bytes: some Collection<UInt8>) throws(ProtocolError) {
        do {
            self = try RMBBacklog(serializedBytes: Array(bytes))
        } catch {
            throw .invalidPayloadData(String(describing: error))
        }
    }
}
