import Foundation

/// One reply to a call: the responder's payload as sent, and who sent it.
public struct RMBReply: Sendable, Hashable {
    public var payload: [UInt8]
    /// The responder's address: `"<twin>"` or `"<twin>:<connection>"`.
    public var source: String
    public var schema: String?
    /// The responder's timestamp (unix seconds).
    public var timestamp: UInt64

    public init(payload: [UInt8], source: String, schema: String?, timestamp: UInt64) {
        self.payload = payload
        self.source = source
        self.schema = schema
        self.timestamp = timestamp
    }

    /// The responder's twin id.
    public var twin: UInt32? { RMBAddressText.twin(of: source) }

    /// The payload decoded as JSON.
    public func decode<Output: Decodable>(_ type: Output.Type = Output.self) throws(RMBCallError) -> Output {
        do { return try JSONDecoder().decode(Output.self, from: Data(payload)) } catch {
            throw .decoding(String(describing: error))
        }
    }
}

/// Addresses as the Redis API writes them (`"<twin>"` or `"<twin>:<connection>"`).
enum RMBAddressText {
    static func twin(of text: String) -> UInt32? {
        UInt32(text.prefix { $0 != ":" })
    }
}
