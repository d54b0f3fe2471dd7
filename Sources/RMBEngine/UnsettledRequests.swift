import Store
import Synchronization

/// Requests whose commit is not durable yet, by uid, with their backlog entries. The pipeline
/// hands a request's envelopes to the postman as soon as its write is queued, before it is
/// committed and before the backlog entry can be read; a fast reply may therefore find no
/// backlog entry. The downstream asks here before it drops such a reply: for callers in this
/// process it takes the entry from here at once (``entry(_:)``); otherwise, if the request is
/// still settling, it waits for the commit and looks again.
final class UnsettledRequests: Sendable {
    private struct State {
        /// Commits in flight per uid (a uid may be in two: the intake takes a message again
        /// after a failed round), with the latest backlog entry.
        var inFlight: [String: (commits: Int, entry: BacklogEntry)] = [:]
        var waiters: [String: [CheckedContinuation<Bool, Never>]] = [:]
    }

    private let state = Mutex(State())

    /// Before the commit of `entries` is queued.
    func begin(_ entries: [BacklogEntry]) {
        guard !entries.isEmpty else { return }
        state.withLock { state in
            for entry in entries {
                state.inFlight[entry.uid] = ((state.inFlight[entry.uid]?.commits ?? 0) + 1, entry)
            }
        }
    }

    /// Once that commit is durable or failed: whoever waits for one of `uids` looks again.
    func end(_ uids: [String]) {
        guard !uids.isEmpty else { return }
        let woken: [CheckedContinuation<Bool, Never>] = state.withLock { state in
            var woken: [CheckedContinuation<Bool, Never>] = []
            for uid in uids {
                guard let settling = state.inFlight[uid] else { continue }
                if settling.commits > 1 {
                    state.inFlight[uid] = (settling.commits - 1, settling.entry)
                } else {
                    state.inFlight[uid] = nil
                    woken += state.waiters.removeValue(forKey: uid) ?? []
                }
            }
            return woken
        }
        for waiter in woken { waiter.resume(returning: true) }
    }

    /// The backlog entry of a request whose commit is in flight.
    func entry(_ uid: String) -> BacklogEntry? {
        state.withLock { $0.inFlight[uid]?.entry }
    }

    /// Waits until no commit of `uid` is in flight; whether one was (then the caller looks again).
    func waitIfUnsettled(_ uid: String) async -> Bool {
        await withCheckedContinuation { (waiter: CheckedContinuation<Bool, Never>) in
            let unsettled = state.withLock { state -> Bool in
                guard state.inFlight[uid] != nil else { return false }
                state.waiters[uid, default: []].append(waiter)
                return true
            }
            if !unsettled { waiter.resume(returning: false) }
        }
    }

    /// Requests settling now (tests, stats).
    var count: Int { state.withLock { $0.inFlight.count } }

    /// Replies waiting for a request to settle (tests).
    var waiting: Int { state.withLock { $0.waiters.values.reduce(0) { $0 + $1.count } } }
}
