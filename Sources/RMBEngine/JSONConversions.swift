import Foundation
import RMBProtocol

/// Turning validated envelopes into the Redis JSON messages of peer.md §4.2–4.3.
extension ServiceRequest {
    /// §4.3: a remote request for a local service; `ref` is the envelope uid.
    public init(validated: ValidatedEnvelope, command: String) {
        let e = validated.envelope
        self.init(reference: e.uid,
                  source: e.hasSource ? e.source.text : "0",
                  command: command,
                  expiration: e.expiration,
                  data: validated.payload,
                  tags: e.hasTags ? e.tags : nil,
                  schema: e.hasSchema ? e.schema : nil,
                  now: e.timestamp)
    }
}

extension ClientResponse {
    /// §4.2: a response or error for the client that sent request `uid`; `reference` is the
    /// client's `ref` from the backlog. Returns nil for envelopes without a message (pings,
    /// pongs or nothing), which have no JSON form.
    public init?(validated: ValidatedEnvelope, reference: String?) {
        let e = validated.envelope
        let error: JSONError?
        switch e.message {
        case .response?: error = nil
        case .error(let wire)?: error = JSONError(code: wire.code, message: wire.message)
        default: return nil
        }
        self.init(reference: reference,
                  data: validated.payload,
                  source: e.hasSource ? e.source.text : "0",
                  schema: e.hasSchema ? e.schema : nil,
                  now: e.timestamp,
                  error: error)
    }
}

/// The built-in `rmb` plugin (peer.md §7): answers `rmb.version` with the JSON-quoted version.
public enum VersionPlugin {
    public static let name = "rmb"
    public static let versionCommand = "rmb.version"
    /// Version of this implementation, reported to `rmb.version`.
    public static let version = RMBVersion.peerPlugin

    /// The response to an incoming `rmb.version` request.
    public static func reply(to request: ValidatedEnvelope) -> OutgoingMessage {
        let e = request.envelope
        return OutgoingMessage(uid: e.uid, destination: e.source, kind: .response,
                               payload: Array("\"\(version)\"".utf8), schema: "application/json",
                               expiration: 300)
    }
}
