import TwinDirectory

/// A change to twin data seen on chain, for caches to apply.
public enum TwinChange: Sendable, Equatable {
    /// `TwinStored` or `TwinUpdated`: the twin as the event carries it.
    case updated(Twin)
    /// `TwinDeleted(id)`.
    case deleted(UInt32)
    /// Events were missed (a gap longer than the catch-up limit, or undecodable events):
    /// forget everything and read again on demand.
    case flushAll
}
