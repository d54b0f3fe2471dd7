import Logging
import RMBEngine
import RMBIdentity
import TFChain
import TwinDirectory

/// Brings the peer's own twin record on tfchain in line with how it runs (peer.md §1.8): its
/// relays and its e2e key.
///
/// Rule (documented in README): by default relays the chain lists but the peer was not given
/// are **kept** (and reported), and the peer connects to them too, since other twins send
/// through every relay on the record; `--replace-relays` writes exactly the given list, like
/// the reference. With no `--relay` the chain's list is used as it is. The e2e key is always
/// set to the peer's own. Nothing is submitted when both already match.
struct OwnTwinSync {
    let chain: TFChainClient
    let identity: Identity
    let logger: Logger

    struct Outcome {
        /// The relays the peer should hold sessions to.
        var relays: [RelayAddress]
        /// Whether an `update_twin` was submitted (and finalized).
        var updated: Bool
    }

    func run(givenRelays: [RelayAddress], mode: RelayListPlan.Mode, finalizationTimeout: Duration) async throws -> Outcome {
        let account = identity.account
        guard let twinID = try await chain.directory.twinID(account: account) else { throw PeerError.noTwin(account.ss58) }
        guard let record = try await chain.directory.record(id: twinID) else {
            throw TFChainError.inconsistentRecord("twin \(twinID) of \(account.ss58) has an id but no record")
        }
        if let refused = givenRelays.first(where: { !$0.isChainCompatible }), let reason = refused.chainIncompatibility {
            throw TFChainError.invalidRelayField(
                "relay \(refused.canonical) cannot be published on chain: \(reason); give relays tfchain accepts or start with --no-update")
        }
        let chainHosts = record.twin.relays.map(\.host)
        let plan = RelayListPlan(chainHosts: chainHosts,
                                 givenHosts: givenRelays.isEmpty ? chainHosts : givenRelays.map(\.host), mode: mode)
        if !plan.kept.isEmpty {
            logger.warning("the twin record lists relays this peer was not given; keeping them (use --replace-relays to remove them)",
                           metadata: ["twin": "\(twinID)", "kept": "\(plan.kept)"])
        }
        let relays = plan.hosts.compactMap { try? RelayAddress(host: $0) }
        let keyChanges = record.publicKey != identity.e2ePublicKey
        guard plan.relaysChange || keyChanges else {
            logger.info("twin record is up to date", metadata: ["twin": "\(twinID)", "relays": "\(plan.hosts)"])
            return Outcome(relays: relays, updated: false)
        }
        let field: String?
        if plan.hosts.isEmpty {
            field = nil
        } else if let valid = plan.relayField {
            field = valid
        } else {
            throw TFChainError.invalidRelayField("'\(plan.hosts.joined(separator: "_"))' fails tfchain's relay check (twins.md §1)")
        }
        logger.info("updating the twin record", metadata: [
            "twin": "\(twinID)", "relays": "\(plan.hosts)", "added": "\(plan.added)", "removed": "\(plan.removed)",
            "pk_changes": "\(keyChanges)",
        ])
        let receipt = try await chain.updateTwin(
            signer: IdentityExtrinsicSigner(identity), relayField: field, publicKey: identity.e2ePublicKey,
            finalizationTimeout: finalizationTimeout)
        return Outcome(relays: receipt.record.twin.relays.isEmpty ? relays : receipt.record.twin.relays, updated: true)
    }
}
