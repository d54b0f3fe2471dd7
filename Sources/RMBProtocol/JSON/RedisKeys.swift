/// Redis key names of the JSON API (peer.md §4). Applications depend on them.
public enum RedisKeys {
    public static let local = "msgbus.system.local"
    public static let reply = "msgbus.system.reply"
    /// Where a message waits while the peer stores it: a crash never loses what was taken.
    public static func processing(_ queue: String) -> String { queue + ".processing" }
    public static func command(_ command: String) -> String { "msgbus." + command }
    /// Marker of an envelope already pushed to local Redis (expires with the envelope).
    public static func delivered(_ inboxKey: String) -> String { "rmb.peer.delivered:" + inboxKey }
    /// The most entries a list we push to holds: the reference's 10,000 (it pushes and then
    /// trims to this many, dropping the oldest — the next to be consumed — without a word;
    /// known-gaps §13). We push only below it; what does not fit waits in the store.
    public static let listCapacity = 10_000
}
