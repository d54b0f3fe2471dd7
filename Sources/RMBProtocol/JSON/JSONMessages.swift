import Foundation

/// The four JSON messages of the Redis API (peer.md §4). Names follow who talks to whom:
/// a *client* asks a remote twin and gets responses; a local *service* serves remote requests.
/// Decoding ignores unknown keys and accepts `null` or a missing key for optional values;
/// encoding writes every key, in the reference's order, with `null` for absent values.

/// `{"code","message"}` inside `err`.
public struct JSONError: Codable, Hashable, Sendable {
    public var code: UInt32
    public var message: String
    public init(code: UInt32, message: String) { self.code = code; self.message = message }
}

/// §4.1 — `LPUSH msgbus.system.local`: a local client asks remote twins.
public struct ClientRequest: Hashable, Sendable {
    public var version: UInt32 = 1
    public var reference: String?
    public var command: String
    public var expiration: UInt64
    public var data: [UInt8]
    public var tags: String?
    public var destinations: [UInt32]
    public var replyTo: String
    public var schema: String?
    public var now: UInt64

    public init(reference: String? = nil, command: String, expiration: UInt64, data: [UInt8], tags: String? = nil,
                destinations: [UInt32], replyTo: String, schema: String? = nil, now: UInt64 = 0) {
        self.reference = reference; self.command = command; self.expiration = expiration; self.data = data
        self.tags = tags; self.destinations = destinations; self.replyTo = replyTo; self.schema = schema; self.now = now
    }
}

/// §4.2 — `LPUSH <ret>`: a response (or error) delivered to the client's reply queue.
public struct ClientResponse: Hashable, Sendable {
    public var version: UInt32 = 1
    public var reference: String?
    public var data: [UInt8]
    /// Responder address text; `"0"` for relay errors, `""` for local undeliverable errors.
    public var source: String
    public var schema: String?
    public var now: UInt64
    public var error: JSONError?

    public init(reference: String?, data: [UInt8], source: String, schema: String?, now: UInt64, error: JSONError?) {
        self.reference = reference; self.data = data; self.source = source; self.schema = schema; self.now = now; self.error = error
    }

    /// The "undeliverable" reply the peer writes when a request cannot be sent (peer.md §4.1).
    public static func undeliverable(reference: String?, error: JSONError) -> ClientResponse {
        ClientResponse(reference: reference, data: [], source: "", schema: nil, now: 0, error: error)
    }
}

/// §4.3 — `LPUSH msgbus.<cmd>`: a remote request handed to a local service.
public struct ServiceRequest: Hashable, Sendable {
    public var version: UInt32 = 1
    /// The envelope uid; the service returns it as `ref`.
    public var reference: String
    public var source: String
    public var command: String
    public var expiration: UInt64
    public var data: [UInt8]
    public var tags: String?
    public var replyTo: String = RedisKeys.reply
    public var schema: String?
    public var now: UInt64

    public init(reference: String, source: String, command: String, expiration: UInt64, data: [UInt8],
                tags: String?, schema: String?, now: UInt64) {
        self.reference = reference; self.source = source; self.command = command; self.expiration = expiration
        self.data = data; self.tags = tags; self.schema = schema; self.now = now
    }
}

/// §4.4 — `LPUSH msgbus.system.reply`: a local service answers a remote request.
public struct ServiceResponse: Hashable, Sendable {
    public var version: UInt32 = 1
    /// uid of the request (absent → empty uid, which the requester cannot match).
    public var reference: String?
    public var data: [UInt8]
    /// Copy of the request's `src`: `"<twin>"` or `"<twin>:<connection>"` (a JSON string).
    public var destination: String
    public var schema: String?
    public var now: UInt64
    public var error: JSONError?

    public init(reference: String?, data: [UInt8], destination: String, schema: String? = nil, now: UInt64 = 0, error: JSONError? = nil) {
        self.reference = reference; self.data = data; self.destination = destination; self.schema = schema; self.now = now; self.error = error
    }
}
