/// The reference relay's delivery workers as this relay accounts for them (relay.md §5, §10):
/// `workers` groups of at most `usersPerWorker` sessions each, a new session going to the first
/// group with room. Our sessions are served by the event loops, not by worker tasks, so a
/// "worker" here is only this bookkeeping — it keeps `relay_worker_connections{worker}` and
/// the capacity (`workers × usersPerWorker`) meaning what they mean on the reference.
struct WorkerSlots {
    let workers: Int
    let usersPerWorker: Int
    private(set) var loads: [Int]
    /// Lowest index that may have room (every worker below it is full).
    private var firstWithRoom = 0

    init(workers: Int, usersPerWorker: Int) {
        self.workers = max(1, workers)
        self.usersPerWorker = max(1, usersPerWorker)
        loads = Array(repeating: 0, count: self.workers)
    }

    /// The worker that takes a new session. When every worker is full (a registration that
    /// raced past the upgrade's capacity check) the last one takes it over its limit, so a
    /// session is never left unaccounted.
    mutating func assign() -> Int {
        while firstWithRoom < workers, loads[firstWithRoom] >= usersPerWorker { firstWithRoom += 1 }
        let worker = min(firstWithRoom, workers - 1)
        loads[worker] += 1
        return worker
    }

    mutating func release(_ worker: Int) {
        guard loads.indices.contains(worker), loads[worker] > 0 else { return }
        loads[worker] -= 1
        if loads[worker] < usersPerWorker { firstWithRoom = min(firstWithRoom, worker) }
    }
}
