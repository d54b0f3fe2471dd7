import TwinDirectory

/// How a peer brings its twin's relay list on chain in line with the relays it was given
/// (peer.md §1.8), without the reference's clobbering.
///
/// The reference overwrites the chain's list with exactly the `--relay` hosts, so two peers of
/// one twin started with different lists (or an operator who added a relay with the CLI) keep
/// removing each other's relays. Our rule: by default the peer only **adds** what is missing
/// and keeps relays it was not given (reporting them); with ``Mode/replace`` it writes exactly
/// its own list, like the reference.
public struct RelayListPlan: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        /// Keep relays the chain lists but this peer was not given; add missing ones.
        case merge
        /// Write exactly the given relays.
        case replace
    }

    /// Host names to write on chain, in order: the given relays first, then kept ones.
    public let hosts: [String]
    /// Relays on chain that the peer was not given and that stay (merge mode).
    public let kept: [String]
    /// Relays on chain that this plan removes (replace mode).
    public let removed: [String]
    /// Given relays that the chain does not list yet.
    public let added: [String]
    /// Whether the chain's relay set differs from ``hosts`` (as a set: order is not meaningful).
    public let relaysChange: Bool

    /// - Parameters:
    ///   - chainHosts: the hosts of the chain's relay field (split on `_`), in record order.
    ///   - givenHosts: the host names of the relays the peer was started with.
    ///   Host names compare case-insensitively (DNS); empty pieces are ignored.
    public init(chainHosts: [String], givenHosts: [String], mode: Mode) {
        let given = Self.unique(givenHosts)
        let onChain = Self.unique(chainHosts)
        let givenSet = Set(given)
        let chainSet = Set(onChain)
        let extra = onChain.filter { !givenSet.contains($0) }
        added = given.filter { !chainSet.contains($0) }
        switch mode {
        case .merge:
            kept = extra
            removed = []
            hosts = given + extra
        case .replace:
            kept = []
            removed = extra
            hosts = given
        }
        relaysChange = Set(hosts) != chainSet
    }

    /// The chain relay field for ``hosts`` (`_`-joined), or `nil` if it would not pass
    /// tfchain's check (twins.md §1), in which case nothing should be submitted.
    public var relayField: String? {
        let field = hosts.joined(separator: "_")
        return RelayAddress.isValidChainRelayField(field) ? field : nil
    }

    private static func unique(_ hosts: [String]) -> [String] {
        var seen = Set<String>()
        return hosts.map { $0.lowercased() }.filter { !$0.isEmpty && seen.insert($0).inserted }
    }
}
