import RMBIdentity
import RMBProtocol
import TwinDirectory

/// Who this peer is on the bus: the twin id found for its account, and the keys.
public struct PeerIdentity: Sendable {
    public let twinID: UInt32
    public let identity: Identity

    public init(twinID: UInt32, identity: Identity) {
        self.twinID = twinID
        self.identity = identity
    }

    /// The peer's own address: `rmb-peer` always connects without a session id.
    public var address: RMBAddress { RMBAddress(twin: twinID) }
}

extension TwinDirectory {
    /// The twin, or the protocol error the peer reports: 103 when unknown, 500 when the lookup fails.
    func requireTwin(_ id: UInt32) async throws(ProtocolError) -> Twin {
        let found: Twin?
        do { found = try await twin(id: id) } catch {
            throw .other("failed to look up twin \(id): \(error)")
        }
        guard let found else { throw .unknownTwin(id) }
        return found
    }
}
