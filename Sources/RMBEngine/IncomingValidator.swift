import Foundation
import RMBIdentity
import RMBProtocol
import TwinDirectory

/// An incoming envelope that passed validation, with its clear payload.
public struct ValidatedEnvelope: Sendable {
    public var envelope: RMBEnvelope
    /// The decrypted (or plain) payload.
    public var payload: [UInt8]
    /// nil for an unsigned relay error (source twin 0).
    public var sender: Twin?

    public var isUnsignedRelayError: Bool { sender == nil }
}

/// Why an incoming envelope was refused, and whether the sender deserves a signed error reply.
public struct IncomingRejection: Error, Sendable, CustomStringConvertible {
    public let error: ProtocolError
    /// Only verified-enough requests get an error reply (envelope.md §7); everything else is logged.
    public let replyable: Bool
    public var description: String { error.description }
}

/// Downstream validation (peer.md §5 step 2), hardened per known-gaps §1 and §3:
/// expired → 102; an envelope for another twin is refused; source twin 0 is accepted unsigned
/// **only** as an error reply (the dispatcher then requires a live backlog entry); otherwise the
/// source twin must exist (103), the signature must verify (104), and a cipher needs the
/// sender's key (105) and must decrypt (106).
public struct IncomingValidator: Sendable {
    public let peer: PeerIdentity
    public let directory: any TwinDirectory
    public let keys: E2EKeyCache

    public init(peer: PeerIdentity, directory: any TwinDirectory, keys: E2EKeyCache) {
        self.peer = peer
        self.directory = directory
        self.keys = keys
    }

    public func validate(_ envelope: RMBEnvelope, now: UInt64 = unixNow()) async throws(IncomingRejection) -> ValidatedEnvelope {
        switch try await check(envelope, now: now) {
        case .accepted(let validated):
            return validated
        case .signed(let sender, let signature):
            guard SignatureVerifier.verify(signature.signature, message: signature.message, account: signature.account) else {
                throw Self.signatureRejected(envelope)
            }
            return try open(envelope, from: sender)
        }
    }

    /// ``validate(_:now:)`` for each envelope of a batch, in order, with their signatures checked
    /// together (``SignatureVerifier/verify(_:)``: a third less CPU per sr25519 signature from
    /// 16 up, and a lane's batch mostly holds one sender's envelopes).
    public func validate(_ envelopes: [RMBEnvelope], now: UInt64 = unixNow()) async -> [Result<ValidatedEnvelope, IncomingRejection>] {
        var stages: [Result<Stage, IncomingRejection>] = []
        stages.reserveCapacity(envelopes.count)
        var checks: [SignatureVerifier.Check] = []
        for envelope in envelopes {
            do throws(IncomingRejection) {
                let stage = try await check(envelope, now: now)
                if case .signed(_, let signature) = stage { checks.append(signature) }
                stages.append(.success(stage))
            } catch {
                stages.append(.failure(error))
            }
        }
        var verified = SignatureVerifier.verify(checks).makeIterator()
        return zip(envelopes, stages).map { envelope, stage in
            switch stage {
            case .failure(let rejection):
                return .failure(rejection)
            case .success(.accepted(let validated)):
                return .success(validated)
            case .success(.signed(let sender, _)):
                guard verified.next() == true else { return .failure(Self.signatureRejected(envelope)) }
                return Result { () throws(IncomingRejection) in try open(envelope, from: sender) }
            }
        }
    }

    /// Where an envelope stands once everything but its signature and payload is checked.
    private enum Stage {
        /// An unsigned relay error: nothing more to check.
        case accepted(ValidatedEnvelope)
        /// From a known twin; its signature is still to be verified, then its payload opened.
        case signed(sender: Twin, signature: SignatureVerifier.Check)
    }

    private static func signatureRejected(_ envelope: RMBEnvelope) -> IncomingRejection {
        rejection(.invalidSignature(SignatureError.verificationFailed.description), for: envelope)
    }

    private static func rejection(_ error: ProtocolError, for envelope: RMBEnvelope) -> IncomingRejection {
        let isRequest: Bool
        if case .request? = envelope.message { isRequest = true } else { isRequest = false }
        return IncomingRejection(error: error, replyable: isRequest)
    }

    private func check(_ envelope: RMBEnvelope, now: UInt64) async throws(IncomingRejection) -> Stage {
        func reject(_ error: ProtocolError) -> IncomingRejection { Self.rejection(error, for: envelope) }

        guard envelope.isValid(now: now) else { throw reject(.expired) }
        let sourceTwin = envelope.hasSource ? envelope.source.twin : 0

        if sourceTwin == 0 {
            // Relay-generated errors are unsigned and may lack a destination.
            guard case .error? = envelope.message else {
                throw IncomingRejection(error: .invalidSignature("unsigned envelopes are accepted only as relay error replies"), replyable: false)
            }
            return .accepted(ValidatedEnvelope(envelope: envelope, payload: envelope.payloadKind == "plain" ? [UInt8](envelope.plain) : [], sender: nil))
        }

        let destinationTwin = envelope.hasDestination ? envelope.destination.twin : 0
        guard destinationTwin == peer.twinID else {
            throw reject(.other("envelope is addressed to twin \(destinationTwin), not to this peer (\(peer.twinID))"))
        }

        let sender: Twin
        do { sender = try await directory.requireTwin(sourceTwin) } catch { throw reject(error) }

        do {
            return .signed(sender: sender, signature: try envelope.signatureCheck(account: sender.account))
        } catch {
            throw reject(.invalidSignature(error.description))
        }
    }

    /// The payload of an envelope whose signature verified: decrypted, or as it is.
    private func open(_ envelope: RMBEnvelope, from sender: Twin) throws(IncomingRejection) -> ValidatedEnvelope {
        func reject(_ error: ProtocolError) -> IncomingRejection { Self.rejection(error, for: envelope) }
        switch envelope.payload {
        case .cipher(let data)?:
            guard sender.e2ePublicKey != nil else { throw reject(.senderHasNoPublicKey) }
            do {
                guard let cipher = try keys.cipher(for: sender) else { throw reject(.senderHasNoPublicKey) }
                return ValidatedEnvelope(envelope: envelope, payload: try cipher.decrypt([UInt8](data)), sender: sender)
            } catch let rejection as IncomingRejection {
                throw rejection
            } catch let error as E2EError {
                throw reject(.e2e(error.description))
            } catch {
                throw reject(.e2e(String(describing: error)))
            }
        case .plain(let data)?:
            return ValidatedEnvelope(envelope: envelope, payload: [UInt8](data), sender: sender)
        case nil:
            return ValidatedEnvelope(envelope: envelope, payload: [], sender: sender)
        }
    }
}
