import Foundation
import RMBProtocol

/// Unsigned relay-generated error envelopes (envelope.md §7): request uid, no source, code 0,
/// expiration 300 stamped now. Only requests are ever answered.
enum ErrorReplies {
    /// Reply to a session that sent a bad request (destination = the session).
    static func toSession(_ request: RMBEnvelope, session: SessionID, text: String, now: UInt64 = unixNow()) -> [UInt8]? {
        var reply = base(request, text: text, now: now)
        reply?.destination = session.address
        return reply.flatMap { try? $0.wireBytes() }
    }

    /// Reply from the federation worker (no destination; written to the source's stream).
    static func fromFederation(_ request: RMBEnvelope, text: String, now: UInt64 = unixNow()) -> [UInt8]? {
        base(request, text: text, now: now).flatMap { try? $0.wireBytes() }
    }

    private static func base(_ request: RMBEnvelope, text: String, now: UInt64) -> RMBEnvelope? {
        guard case .request? = request.message else { return nil }
        var reply = RMBEnvelope()
        reply.uid = request.uid
        reply.timestamp = now
        reply.expiration = 300
        var error = RMBError()
        error.code = 0
        error.message = text
        reply.message = .error(error)
        return reply
    }
}

extension RMBEnvelope {
    /// The `fail-fast` tag: tags split on commas and whitespace, exact token (relay.md §5).
    var isFailFast: Bool {
        guard hasTags else { return false }
        return tags.split(whereSeparator: { $0 == "," || $0.isWhitespace }).contains("fail-fast")
    }

    /// Ping → pong in place (envelope.md §6): swap source and destination, plain payload kept
    /// (cipher/absent becomes empty), `hello world` appended; everything else untouched.
    mutating func convertPingToPong() {
        message = .pong(RMBPong())
        let oldSource = hasSource ? source : nil
        let oldDestination = hasDestination ? destination : nil
        if let oldDestination { source = oldDestination } else { clearSource() }
        if let oldSource { destination = oldSource } else { clearDestination() }
        var bytes: Data
        if case .plain(let existing)? = payload { bytes = existing } else { bytes = Data() }
        bytes.append(contentsOf: Array("hello world".utf8))
        payload = .plain(bytes)
    }
}
