/// The values the standard signed extensions put into an extrinsic ("extra") or only into its
/// signature ("additional signed"). The builder picks from them by extension identifier.
public struct SignedExtensionValues: Sendable, Hashable {
    /// `CheckSpecVersion`: the runtime's `spec_version` (from `state_getRuntimeVersion`).
    public var specVersion: UInt32
    /// `CheckTxVersion`: the runtime's `transaction_version`.
    public var transactionVersion: UInt32
    /// `CheckGenesis`: the 32-byte hash of block 0.
    public var genesisHash: [UInt8]
    /// `CheckMortality`: sent in the extrinsic.
    public var era: Era
    /// `CheckMortality`: signed, not sent. The hash of `era.birthBlock(current:)`, which for an
    /// immortal era is the genesis block.
    public var checkpointBlockHash: [UInt8]
    /// `CheckNonce`: the account's next index (`system_accountNextIndex`), sent as a compact.
    public var nonce: UInt64
    /// `ChargeTransactionPayment` / `ChargeAssetTxPayment`: the tip, sent as a compact. The
    /// runtime's balance is a u128; tips beyond 2^64 - 1 planck are not needed here.
    public var tip: UInt64

    /// An immortal transaction: the checkpoint is the genesis block.
    public init(specVersion: UInt32, transactionVersion: UInt32, genesisHash: [UInt8], nonce: UInt64, tip: UInt64 = 0) {
        self.init(
            specVersion: specVersion, transactionVersion: transactionVersion, genesisHash: genesisHash,
            era: .immortal, checkpointBlockHash: genesisHash, nonce: nonce, tip: tip
        )
    }

    /// Any era: for a mortal one, `checkpointBlockHash` is the hash of its birth block.
    public init(
        specVersion: UInt32, transactionVersion: UInt32, genesisHash: [UInt8],
        era: Era, checkpointBlockHash: [UInt8], nonce: UInt64, tip: UInt64 = 0
    ) {
        self.specVersion = specVersion
        self.transactionVersion = transactionVersion
        self.genesisHash = genesisHash
        self.era = era
        self.checkpointBlockHash = checkpointBlockHash
        self.nonce = nonce
        self.tip = tip
    }
}
