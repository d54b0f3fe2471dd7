import Foundation
import RMBProtocol

/// A request from another twin, as a handler sees it.
public struct RMBIncomingRequest: Sendable, Hashable {
    /// The full command, e.g. `zos.system.version`.
    public var command: String
    public var payload: [UInt8]
    /// The caller's address: `"<twin>"` or `"<twin>:<connection>"`. Verified by the peer
    /// (signature of the caller's twin) before the request reached Redis.
    public var source: String
    /// The request's uid; the reply carries it back.
    public var reference: String
    public var schema: String?
    public var tags: String?
    /// The caller's timestamp (unix seconds) and the request's ttl from it.
    public var timestamp: UInt64
    public var expiration: UInt64

    public init(command: String, payload: [UInt8], source: String, reference: String = "", schema: String? = nil,
                tags: String? = nil, timestamp: UInt64 = 0, expiration: UInt64 = 60) {
        self.command = command; self.payload = payload; self.source = source; self.reference = reference
        self.schema = schema; self.tags = tags; self.timestamp = timestamp; self.expiration = expiration
    }

    /// A request as the Redis JSON API (or a direct peer) hands it over.
    init(_ incoming: ServiceRequest) {
        self.init(command: incoming.command, payload: incoming.data, source: incoming.source, reference: incoming.reference,
                  schema: incoming.schema, tags: incoming.tags, timestamp: incoming.now, expiration: incoming.expiration)
    }

    /// The caller's twin id (0 if the source is not an address, which the peer never hands over).
    public var twin: UInt32 { RMBAddressText.twin(of: source) ?? 0 }

    /// The payload decoded as JSON; a payload of another shape is the caller's fault (code 400).
    public func decode<Input: Decodable>(_ type: Input.Type = Input.self) throws(RMBServiceError) -> Input {
        do { return try JSONDecoder().decode(Input.self, from: Data(payload)) } catch {
            throw .badRequest("payload is not a valid \(Input.self): \(error)")
        }
    }
}

/// What a handler answers: a payload (JSON by default) and its schema.
public struct RMBOutgoingResponse: Sendable, Hashable {
    public var payload: [UInt8]
    public var schema: String?

    public init(payload: [UInt8], schema: String? = "application/json") {
        self.payload = payload
        self.schema = schema
    }

    /// `value` encoded as JSON.
    public init<Output: Encodable>(json value: Output) throws(RMBServiceError) {
        do { self.init(payload: Array(try JSONEncoder().encode(value))) } catch {
            throw RMBServiceError("cannot encode the reply: \(error)")
        }
    }
}

/// Answers one request.
public typealias RMBHandler = @Sendable (RMBIncomingRequest) async throws -> RMBOutgoingResponse
