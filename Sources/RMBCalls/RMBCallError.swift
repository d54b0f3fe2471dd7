/// Why a call through RMB did not produce a reply payload.
public enum RMBCallError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The remote service answered with an error, or the request could not be delivered. `source`
    /// tells who said so: the responder (`"<twin>"` or `"<twin>:<connection>"`), a relay (`"0"`),
    /// or the local peer (`""`, e.g. the destination twin does not exist).
    case remote(code: UInt32, message: String, source: String)
    /// No reply within the call's timeout. The request may still be processed remotely.
    case timeout(Duration)
    /// The calling task was cancelled before a reply arrived.
    case cancelled
    /// The request could not be handed to the bus: the local peer's Redis could not be reached
    /// or refused it (``RMBClient``), or a direct peer is not running or is stopping.
    case transport(String)
    /// The input could not be encoded.
    case encoding(String)
    /// The reply arrived but its payload is not of the expected type.
    case decoding(String)

    public var description: String {
        switch self {
        case let .remote(code, message, source):
            let who = source.isEmpty ? "local peer" : source == "0" ? "relay" : "twin \(source)"
            return "\(who) answered with error \(code): \(message)"
        case let .timeout(duration): return "no reply within \(duration)"
        case .cancelled: return "the call was cancelled"
        case let .transport(reason): return "cannot send the request: \(reason)"
        case let .encoding(reason): return "cannot encode the request payload: \(reason)"
        case let .decoding(reason): return "cannot decode the reply payload: \(reason)"
        }
    }
}

/// An error a handler throws to choose the code and message of its error reply. Any other error
/// a handler throws is answered with code ``RMBServiceError/handlerFailed`` and the error's
/// description, as the Go SDK's router does.
public struct RMBServiceError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: UInt32
    public var message: String

    public init(code: UInt32 = RMBServiceError.handlerFailed, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The code of a handler's failure (255, the reference SDKs' "client error").
    public static let handlerFailed: UInt32 = 255
    /// The request's payload is not what the handler expects.
    public static func badRequest(_ message: String) -> RMBServiceError { RMBServiceError(code: 400, message) }
    /// The source twin may not call this command.
    public static func forbidden(_ message: String) -> RMBServiceError { RMBServiceError(code: 403, message) }

    public var description: String { "error \(code): \(message)" }
}
