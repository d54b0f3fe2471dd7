import Synchronization

/// Requests whose commit is not durable yet, by uid. The pipeline hands a request's envelopes
/// to the postman as soon as its commit is applied, before the fsync ends and before the
/// backlog entry can be read; a fast reply may therefore find no backlog entry. The downstream
/// asks here before it drops such a reply: if the request is still settling, it waits for the
/// commit and looks again.
final class UnsettledRequests: Sendable {
    private struct State {
        /// Commits in flight per uid (a uid may be in two: the intake takes a message again
        /// after a failed round).
        var inFlight: [String: Int] = [:]
        var waiters: [String: [CheckedContinuation<Bool, Never>]] = [:]
    }

    private let state = Mutex(State())

    /// Before the commit of `uids` is queued.
    func begin(_ uids: [String]) {
        guard !uids.isEmpty else { return }
        state.withLock { state in
            for uid in uids { state.inFlight[uid, default: 0] += 1 }
        }
    }

    /// Once that commit is durable or failed: whoever waits for one of `uids` looks again.
    func end(_ uids: [String]) {
        guard !uids.isEmpty else { return }
        let woken: [CheckedContinuation<Bool, Never>] = state.withLock { state in
            var woken: [CheckedContinuation<Bool, Never>] = []
            for uid in uids {
                let left = (state.inFlight[uid] ?? 1) - 1
                if left > 0 {
                    state.inFlight[uid] = left
                } else {
                    state.inFlight[uid] = nil
                    woken += state.waiters.removeValue(forKey: uid) ?? []
                }
            }
            return woken
        }
        for waiter in woken { waiter.resume(returning: true) }
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
