import RMBIdentity
import RMBProtocol

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
