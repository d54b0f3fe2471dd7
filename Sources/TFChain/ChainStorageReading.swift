/// Reading raw storage values from a node: the seam between twin lookups and the JSON-RPC
/// transport, so lookups can be tested without a node and served by any client.
public protocol ChainStorageReading: Sendable {
    /// The raw SCALE value stored under `key` at block `at` (best block when `nil`), or `nil`
    /// when nothing is stored there.
    func storageValue(key: [UInt8], at block: [UInt8]?) async throws -> [UInt8]?

    /// Called when a value read here does not decode as RMB expects: throws
    /// ``TFChainError/runtimeMismatch(_:)`` naming the change when the node's live metadata no
    /// longer has the shapes RMB relies on (a runtime upgrade). A reader without metadata
    /// returns, and the caller reports the undecodable value itself.
    func explainUndecodableValue() async throws
}

extension ChainStorageReading {
    public func explainUndecodableValue() async throws {}
}
