import Foundation
import RMBIdentity
import RMBProtocol
import TwinDirectory

/// Builds the signed envelopes the peer sends (peer.md §3): destination lookup, e2e encryption
/// when the destination publishes a key, own source, stamp, ttl check, signature.
///
/// Unlike the reference, an encryption failure is not turned into a silent Error envelope
/// (known-gaps §22): the send fails with code 106 so the application hears about it.
public struct EnvelopeFactory: Sendable {
    public let peer: PeerIdentity
    public let directory: any TwinDirectory
    public let keys: E2EKeyCache

    public init(peer: PeerIdentity, directory: any TwinDirectory, keys: E2EKeyCache) {
        self.peer = peer
        self.directory = directory
        self.keys = keys
    }

    public func make(_ message: OutgoingMessage, now: UInt64 = unixNow()) async throws(ProtocolError) -> RMBEnvelope {
        let twin = try await directory.requireTwin(message.destination.twin)

        var envelope = RMBEnvelope()
        envelope.uid = message.uid
        if let tags = message.tags { envelope.tags = tags }
        envelope.timestamp = message.timestamp
        envelope.expiration = message.expiration
        envelope.source = peer.address
        envelope.destination = message.destination
        switch message.kind {
        case .request(let command): envelope.request = RMBRequest.with { $0.command = command }
        case .response: envelope.response = RMBResponse()
        case .error(let code, let text): envelope.error = RMBError.with { $0.code = code; $0.message = text }
        }
        if let schema = message.schema { envelope.schema = schema }

        do {
            if let cipher = try keys.cipher(for: twin) {
                envelope.cipher = Data(try cipher.encrypt(message.payload))
            } else if !message.payload.isEmpty || !isError(message.kind) {
                envelope.plain = Data(message.payload)
            }
        } catch {
            throw .e2e(error.description)
        }

        envelope.stamp(now: now)
        guard envelope.isValid(now: now) else { throw .other("response has expired before sending!") }
        do {
            try envelope.sign(with: peer.identity)
        } catch {
            throw .other(error.description)
        }
        return envelope
    }

    /// Error replies without a payload carry none on the wire (as the reference's do).
    private func isError(_ kind: OutgoingMessage.Kind) -> Bool {
        if case .error = kind { return true }
        return false
    }
}
