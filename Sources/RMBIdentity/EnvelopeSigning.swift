import Foundation
import RMBProtocol

/// Signing and verification of envelopes (envelope.md §2–3): the signature covers the MD5
/// digest of the challenge, so it is computed after encryption and checked before decryption.
extension RMBEnvelope {
    /// Signs the envelope as it is now (set every field, including the payload, first).
    public mutating func sign(with identity: Identity) throws(IdentityError) {
        signature = Data(try identity.sign(digest).bytes)
    }

    /// Verifies the signature against the signer's account id.
    public func verifySignature(account: AccountID) throws(SignatureError) {
        guard hasSignature else { throw .missing }
        let typed = try TypedSignature(bytes: signature)
        guard SignatureVerifier.verify(typed, message: digest, account: account) else { throw .verificationFailed }
    }
}
