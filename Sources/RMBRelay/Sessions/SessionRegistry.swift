/// Sessions connected to this process, by `(twin, sid)`. Of two connections of one id the
/// older one closes, older by their generations (SessionTakeover), which Redis orders across
/// all relay processes, so the newest registration survives wherever it is; unregistration
/// removes the entry **only if it is still the same connection**, so an old connection closing
/// never drops its replacement (known-gaps §10).
final class SessionRegistry: Sendable {
    private struct State {
        var sessions: [SessionID: Session] = [:]
        var nextSerial: UInt64 = 1
        /// Connections waiting for their generation before they register, per id.
        var expected: [SessionID: Int] = [:]
        /// The highest generation another process announced for an id connected or expected here.
        var announced: [SessionID: UInt64] = [:]
        var slots: WorkerSlots
        /// The worker of each registered connection, by serial.
        var workerOf: [UInt64: Int] = [:]

        /// Records `session` in the sessions and its worker; releases the worker of `replaced`.
        mutating func admit(_ session: Session, replacing replaced: Session?) -> [(worker: Int, load: Int)] {
            sessions[session.id] = session
            var changed: [(worker: Int, load: Int)] = []
            if let replaced { changed += leave(replaced) }
            let worker = slots.assign()
            workerOf[session.serial] = worker
            changed.append((worker, slots.loads[worker]))
            return changed
        }

        mutating func leave(_ session: Session) -> [(worker: Int, load: Int)] {
            guard let worker = workerOf.removeValue(forKey: session.serial) else { return [] }
            slots.release(worker)
            return [(worker, slots.loads[worker])]
        }

        mutating func forgetAnnouncementsIfUnused(_ id: SessionID) {
            if sessions[id] == nil && expected[id] == nil { announced[id] = nil }
        }
    }
    private let state: Locked<State>
    let capacity: Int
    /// Told each worker's new session count (`relay_worker_connections{worker}`).
    private let workerLoad: @Sendable (_ worker: Int, _ sessions: Int) -> Void

    init(workers: Int, usersPerWorker: Int, workerLoad: @escaping @Sendable (_ worker: Int, _ sessions: Int) -> Void = { _, _ in }) {
        let slots = WorkerSlots(workers: workers, usersPerWorker: usersPerWorker)
        let (capacity, overflow) = slots.workers.multipliedReportingOverflow(by: slots.usersPerWorker)
        self.capacity = overflow ? Int.max : capacity
        self.state = Locked(State(slots: slots))
        self.workerLoad = workerLoad
    }

    convenience init(capacity: Int) { self.init(workers: 1, usersPerWorker: capacity) }

    var count: Int { state.withLock { $0.sessions.count } }
    var isFull: Bool { count >= capacity }

    func makeSerial() -> UInt64 {
        state.withLock { state in
            defer { state.nextSerial += 1 }
            return state.nextSerial
        }
    }

    /// A connection of `id` is taking its generation: announcements from other processes that
    /// arrive meanwhile are kept for its registration.
    func expect(_ id: SessionID) {
        state.withLock { $0.expected[id, default: 0] += 1 }
    }

    /// Registers `session` (announced with ``expect(_:)``) and returns the connection that must
    /// close: the one registered before when `session` is newer, else `session` itself. Without
    /// a generation (Redis failed), the later arrival counts as newer.
    func register(_ session: Session) -> Session? {
        let (older, changed) = state.withLock { state -> (Session?, [(worker: Int, load: Int)]) in
            let id = session.id
            if let count = state.expected[id] { state.expected[id] = count > 1 ? count - 1 : nil }
            let generation = session.generation
            if let generation, let announced = state.announced[id], announced > generation {
                state.forgetAnnouncementsIfUnused(id)
                return (session, [])
            }
            let old = state.sessions[id]
            if let generation, let oldGeneration = old?.generation, oldGeneration > generation { return (session, []) }
            return (old, state.admit(session, replacing: old))
        }
        for change in changed { workerLoad(change.worker, change.load) }
        return older
    }

    /// Another process registered `id` with `generation`; returns the connection here that this
    /// makes the older one (it must close), if any.
    func announced(_ id: SessionID, generation: UInt64) -> Session? {
        state.withLock { state in
            guard state.sessions[id] != nil || state.expected[id] != nil else { return nil }
            state.announced[id] = max(state.announced[id] ?? 0, generation)
            guard let current = state.sessions[id], let own = current.generation, own < generation else { return nil }
            return current
        }
    }

    /// Removes `session` if it is still the registered connection for its id; returns whether
    /// the id is now gone from this process (its presence may be released): false when another
    /// connection of it is registered, or is taking its generation (it claimed the presence).
    @discardableResult
    func unregister(_ session: Session) -> Bool {
        let (gone, changed) = state.withLock { state -> (Bool, [(worker: Int, load: Int)]) in
            guard let current = state.sessions[session.id], current.serial == session.serial else { return (false, []) }
            state.sessions[session.id] = nil
            let changed = state.leave(session)
            state.forgetAnnouncementsIfUnused(session.id)
            return (state.expected[session.id] == nil, changed)
        }
        for change in changed { workerLoad(change.worker, change.load) }
        return gone
    }

    func session(for id: SessionID) -> Session? {
        state.withLock { $0.sessions[id] }
    }

    var all: [Session] { state.withLock { Array($0.sessions.values) } }
}
