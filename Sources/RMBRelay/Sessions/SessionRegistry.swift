/// Sessions connected to this process, by `(twin, sid)`. Registration replaces an older
/// connection of the same id; unregistration removes the entry **only if it is still the same
/// connection**, so an old connection closing never drops its replacement (known-gaps §10).
final class SessionRegistry: Sendable {
    private struct State {
        var sessions: [SessionID: Session] = [:]
        var nextSerial: UInt64 = 1
    }
    private let state = Locked(State())
    let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    var count: Int { state.withLock { $0.sessions.count } }
    var isFull: Bool { count >= capacity }

    func makeSerial() -> UInt64 {
        state.withLock { state in
            defer { state.nextSerial += 1 }
            return state.nextSerial
        }
    }

    /// Registers `session` and returns the connection it replaced, if any.
    func register(_ session: Session) -> Session? {
        state.withLock { state in
            let old = state.sessions[session.id]
            state.sessions[session.id] = session
            return old
        }
    }

    /// Removes `session` if it is still the registered connection for its id; returns whether it was.
    @discardableResult
    func unregister(_ session: Session) -> Bool {
        state.withLock { state in
            guard let current = state.sessions[session.id], current.serial == session.serial else { return false }
            state.sessions[session.id] = nil
            return true
        }
    }

    func session(for id: SessionID) -> Session? {
        state.withLock { $0.sessions[id] }
    }

    var all: [Session] { state.withLock { Array($0.sessions.values) } }
}
