import Foundation
import Synchronization

/// Monotonic nanoseconds for the peer bench (one clock for send times, reply times and kills).
func peerBenchNanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// What the sender and the reply reader of one run share: when each request was due (its
/// intended send time, so a stalled sender shows up as latency instead of hiding it), and when
/// its reply came. Requests are numbered; the number travels as the JSON `ref`.
final class PeerBenchLedger: Sendable {
    private struct State {
        var due: [UInt64] = []
        var answeredAt: [UInt64] = []
        var errors = 0
        var unknown = 0
    }

    private let state = Mutex(State())
    /// The `ref` prefix of this run; replies with other refs (an earlier run's stragglers) are ignored.
    let prefix: String

    init(prefix: String) { self.prefix = prefix }

    /// Registers `count` new requests due at `due`; returns the number of the first.
    func register(count: Int, due: UInt64) -> Int {
        state.withLock { state in
            let first = state.due.count
            state.due.append(contentsOf: repeatElement(due, count: count))
            state.answeredAt.append(contentsOf: repeatElement(0, count: count))
            return first
        }
    }

    /// Records a reply by its `ref`; returns false for a ref that is not ours or seen twice.
    @discardableResult
    func answer(reference: String?, isError: Bool, at now: UInt64) -> Bool {
        guard let reference, reference.hasPrefix(prefix), let index = Int(reference.dropFirst(prefix.count)) else {
            state.withLock { $0.unknown += 1 }
            return false
        }
        return state.withLock { state in
            guard index >= 0, index < state.answeredAt.count, state.answeredAt[index] == 0 else {
                state.unknown += 1
                return false
            }
            state.answeredAt[index] = now
            if isError { state.errors += 1 }
            return true
        }
    }

    var sent: Int { state.withLock { $0.due.count } }
    var answered: Int { state.withLock { $0.answeredAt.lazy.filter { $0 != 0 }.count } }

    /// A consistent copy for the figures.
    func snapshot() -> PeerBenchSnapshot {
        state.withLock { PeerBenchSnapshot(due: $0.due, answeredAt: $0.answeredAt, errors: $0.errors, unknown: $0.unknown) }
    }
}

/// The ledger after a run.
struct PeerBenchSnapshot {
    let due: [UInt64]
    let answeredAt: [UInt64]
    let errors: Int
    let unknown: Int

    /// Latencies (ns) of the requests due in `window`; unanswered ones are left out
    /// (they are counted by `unanswered(in:)`).
    func latencies(dueIn window: Range<UInt64>) -> [UInt64] {
        zip(due, answeredAt).compactMap { due, answered in
            window.contains(due) && answered != 0 ? answered &- due : nil
        }
    }

    func unanswered(dueIn window: Range<UInt64>) -> Int {
        zip(due, answeredAt).reduce(0) { $0 + (window.contains($1.0) && $1.1 == 0 ? 1 : 0) }
    }

    /// Replies that arrived in `window`, whenever their request was sent.
    func replies(arrivedIn window: Range<UInt64>) -> Int {
        answeredAt.reduce(0) { $0 + (window.contains($1) ? 1 : 0) }
    }
}
