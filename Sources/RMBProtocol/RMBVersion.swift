/// This implementation's version: `--version` of rmb-peer, rmb-relay and rmb (and `-V`), the
/// release packages' names, and the peer's `rmb.version` answer. Change it here only.
public enum RMBVersion {
    /// Semantic version, as `--version` prints it.
    public static let semantic = "0.1.0"
    /// The peer's answer to `rmb.version` (peer.md §7): `v<semantic>-swift`, so a caller can tell
    /// this implementation from the reference's `v<semantic>`.
    public static let peerPlugin = "v\(semantic)-swift"
}
