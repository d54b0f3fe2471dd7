/// Per-twin fixed-window limiter (relay.md §9): windows of 60 s aligned to unix time; a frame
/// longer than `size` is always rejected; otherwise count and bytes are added and the frame is
/// rejected when either goes over. Bounded table (capacity 2 × max users, oldest windows dropped).
final class RateLimiter: Sendable {
    private struct Window { var index: UInt64; var count: Int; var bytes: Int }

    let limit: RelayConfiguration.RateLimit
    private let capacity: Int
    private let table = Locked<[UInt32: Window]>([:])

    init(limit: RelayConfiguration.RateLimit, capacity: Int) {
        self.limit = limit
        self.capacity = max(16, min(capacity, 1_000_000))
    }

    /// Whether a frame of `length` bytes from `twin` may pass at unix time `now`.
    func allow(twin: UInt32, length: Int, now: UInt64) -> Bool {
        if length > limit.size { return false }
        let index = now / 60
        return table.withLock { table in
            var window = table[twin] ?? Window(index: index, count: 0, bytes: 0)
            if window.index != index { window = Window(index: index, count: 0, bytes: 0) }
            window.count += 1
            window.bytes += length
            if table[twin] == nil, table.count >= capacity {
                // Drop every entry of an older window; if none, drop an arbitrary half.
                table = table.filter { $0.value.index == index }
                if table.count >= capacity { table = Dictionary(uniqueKeysWithValues: table.prefix(capacity / 2).map { ($0.key, $0.value) }) }
            }
            table[twin] = window
            return window.count <= limit.count && window.bytes <= limit.size
        }
    }
}
