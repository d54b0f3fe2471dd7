import RMBIdentity

/// Read access to twins, whatever the source: tfchain, a cache in front of it, or a local
/// file on networks without a chain.
///
/// `nil` means "no such twin", a normal answer that callers turn into protocol errors
/// (e.g. "unknown twin destination"). A thrown error means the lookup itself failed
/// (network, bad data) and the answer is unknown; callers must not treat it as "not found".
public protocol TwinDirectory: Sendable {
    /// The twin with this id, or `nil` if none exists.
    func twin(id: UInt32) async throws -> Twin?
    /// The id of the twin owned by this account, or `nil` if the account has no twin.
    func twinID(account: AccountID) async throws -> UInt32?
}
