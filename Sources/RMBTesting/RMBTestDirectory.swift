import RMBIdentity
import Synchronization
import TwinDirectory

/// An in-memory ``TwinDirectory`` for tests: twins are added (and replaced) with ``upsert(_:)``
/// and seen at once by every peer and relay that reads it.
public final class RMBTestDirectory: TwinDirectory, Sendable {
    private let twins = Mutex<[UInt32: Twin]>([:])

    public init(_ twins: [Twin] = []) {
        for twin in twins { upsert(twin) }
    }

    /// Adds `twin`, or replaces the twin with its id.
    public func upsert(_ twin: Twin) {
        twins.withLock { $0[twin.id] = twin }
    }

    /// Removes the twin with `id`; lookups then answer "no such twin".
    public func remove(id: UInt32) {
        twins.withLock { _ = $0.removeValue(forKey: id) }
    }

    public func twin(id: UInt32) async throws -> Twin? {
        twins.withLock { $0[id] }
    }

    public func twinID(account: AccountID) async throws -> UInt32? {
        twins.withLock { twins in twins.values.first { $0.account == account }?.id }
    }
}
