import Synchronization

/// Tells a commit's callers their outcome off the writer thread: in commit order, as one job for
/// all the commits that finished while the last job ran.
///
/// Why: resumed one by one from the writer thread, each caller's continuation was enqueued on an
/// event loop from outside it, which woke that loop; on a two-core machine the woken loop
/// preempted the writer, ran one continuation and slept, and the writer woke it again for the
/// next caller — half a dozen context switches per commit at a few hundred calls a second, each
/// costing far more than the commit's own work. Handed over as one job, a commit's callers cost
/// one wake-up, and the writer goes on to its next transaction at once.
final class CompletionRelay: Sendable {
    private struct State {
        var queue: [@Sendable () -> Void] = []
        /// A job is running or about to (it takes what is queued until nothing is).
        var draining = false
    }

    private let state = Mutex(State())

    /// Queues `work` after everything posted before it, and starts a job if none runs.
    func post(_ work: @escaping @Sendable () -> Void) {
        let startsJob = state.withLock { state -> Bool in
            state.queue.append(work)
            guard !state.draining else { return false }
            state.draining = true
            return true
        }
        if startsJob { Task { self.drain() } }
    }

    private func drain() {
        while true {
            let batch = state.withLock { state -> [@Sendable () -> Void] in
                guard !state.queue.isEmpty else {
                    state.draining = false
                    return []
                }
                defer { state.queue.removeAll(keepingCapacity: true) }
                return state.queue
            }
            if batch.isEmpty { return }
            for work in batch { work() }
        }
    }
}
