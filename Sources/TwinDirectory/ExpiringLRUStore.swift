/// A bounded map whose entries expire, used by ``CachedTwinDirectory``.
///
/// Recency is a counter stamped on every read and write. When a new key arrives at capacity,
/// expired entries go first; if none did, the least recently used 1/16 of the entries (at
/// least one) go in one batch, so the O(n log n) sort is paid once per many inserts rather than
/// on each. The size never exceeds `capacity`.
struct ExpiringLRUStore<Key: Hashable, Value> {
    private struct Entry {
        var value: Value
        var expires: ContinuousClock.Instant
        var lastUse: UInt64
    }

    let capacity: Int
    private var entries: [Key: Entry] = [:]
    private var useCounter: UInt64 = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var count: Int { entries.count }

    /// The live value for `key`, refreshing its recency; expired entries are removed.
    mutating func value(for key: Key, now: ContinuousClock.Instant) -> Value? {
        guard let entry = entries[key] else { return nil }
        guard entry.expires > now else {
            entries[key] = nil
            return nil
        }
        useCounter &+= 1
        entries[key]?.lastUse = useCounter
        return entry.value
    }

    /// The live value for `key`, leaving its recency as it is.
    func peek(for key: Key, now: ContinuousClock.Instant) -> Value? {
        guard let entry = entries[key], entry.expires > now else { return nil }
        return entry.value
    }

    mutating func insert(_ value: Value, for key: Key, expires: ContinuousClock.Instant, now: ContinuousClock.Instant) {
        if entries[key] == nil && entries.count >= capacity { makeRoom(now: now) }
        useCounter &+= 1
        entries[key] = Entry(value: value, expires: expires, lastUse: useCounter)
    }

    mutating func removeValue(for key: Key) {
        entries[key] = nil
    }

    mutating func removeAll(where shouldRemove: (Key, Value) -> Bool) {
        entries = entries.filter { !shouldRemove($0.key, $0.value.value) }
    }

    mutating func removeAll() {
        entries.removeAll()
    }

    private mutating func makeRoom(now: ContinuousClock.Instant) {
        entries = entries.filter { $0.value.expires > now }
        guard entries.count >= capacity else { return }
        let batch = max(1, capacity / 16)
        let victims = entries.sorted { $0.value.lastUse < $1.value.lastUse }.prefix(batch)
        for (key, _) in victims { entries[key] = nil }
    }
}
