import RMBProtocol

/// The message kind of an envelope. Part of the inbox key: a request and the response to it
/// share a uid, and so may a request and a response travelling the other way.
public enum EnvelopeKind: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case request = 1
    case response = 2
    case error = 3
    case ping = 4
    case pong = 5
    /// An envelope without a message (kept distinct so it never collides with the others).
    case none = 6

    public init(_ envelope: RMBEnvelope) {
        switch envelope.message {
        case .request: self = .request
        case .response: self = .response
        case .error: self = .error
        case .ping: self = .ping
        case .pong: self = .pong
        case nil: self = .none
        }
    }

    /// The case's name, spelled out: interpolating an enum otherwise goes through reflection,
    /// and every received envelope's inbox key is turned into text once.
    public var description: String {
        switch self {
        case .request: "request"
        case .response: "response"
        case .error: "error"
        case .ping: "ping"
        case .pong: "pong"
        case .none: "none"
        }
    }
}
