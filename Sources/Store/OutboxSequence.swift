import Synchronization

/// Hands out outbox sequence numbers, to the writer as it applies an `.enqueue` and to callers
/// who reserve them ahead (``Store/reserveOutboxSeqs(_:)``) so they know an entry before its
/// commit is applied. Strictly increasing; a number used by a transaction that aborted, or
/// reserved and never written, is skipped, never handed out again in this run. The writer
/// persists one past the highest number it wrote, where a reopened store starts.
final class OutboxSequence: Sendable {
    private let nextSeq: Mutex<UInt64>

    init(startingAt first: UInt64) {
        nextSeq = Mutex(max(1, first))
    }

    /// The first of `count` consecutive numbers, now taken.
    func take(_ count: Int = 1) -> UInt64 {
        nextSeq.withLock { next in
            let first = next
            next += UInt64(max(0, count))
            return first
        }
    }
}
