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
        let check = try signatureCheck(account: account)
        guard SignatureVerifier.verify(check.signature, message: check.message, account: account) else { throw .verificationFailed }
    }

    /// What ``verifySignature(account:)`` checks, for ``SignatureVerifier/verify(_:)`` to check
    /// many envelopes' signatures together; throws for a missing or malformed signature.
    public func signatureCheck(account: AccountID) throws(SignatureError) -> SignatureVerifier.Check {
        guard hasSignature else { throw .missing }
        return SignatureVerifier.Check(signature: try TypedSignature(bytes: signature), message: digest, account: account)
    }
}
