import NIOCore
import NIOWebSocket

/// A frame waiting to be written to a session's socket.
enum Outgoing: Sendable {
    /// Routed straight from another connection of this process (no Redis copy exists).
    case direct([UInt8])
    /// Read from the session's stream; its entry is XDELed once written.
    case stored(id: String, bytes: [UInt8])
    /// A WebSocket control frame (pong, close).
    case control(WebSocketOpcode, ByteBuffer)
}

/// One authenticated connection. Frames for it are queued here and written by at most one
/// writer run at a time, so everything reaches the socket in the order it was queued (a pong is
/// queued behind every earlier envelope). A writer run is started when frames arrive and ends
/// when the queue is empty, so an idle session holds no writer task (and no task stack) at all.
/// The queue is bounded for direct deliveries; when it is full the router falls back to the
/// session's Redis stream.
final class Session: Sendable {
    let id: SessionID
    let serial: UInt64
    private let capacity: Int
    private let closeConnection: @Sendable () -> Void

    private struct State {
        var queue: [Outgoing] = []
        // writer runs: how to start one (while the socket is usable), whether one is active
        // and which, its task (for cancellation), and who waits for it to end
        var startWriter: (@Sendable (UInt64) -> Task<Void, Never>)?
        var writing = false
        var writerRun: UInt64 = 0
        var writerTask: Task<Void, Never>?
        var writerCancelled = false
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
        var closed = false
        var fullSince: ContinuousClock.Instant?
        // stream delivery bookkeeping (owned by StreamDelivery)
        var draining = false
        var redrain = false
        var lastStreamID: String?
        // cross-process replacement (SessionTakeover): this registration's generation, once
        // known, and the highest generation that replaced this session id elsewhere
        var generation: UInt64?
        var replacedBy: UInt64 = 0
    }
    private let state = Locked(State())

    init(id: SessionID, serial: UInt64, capacity: Int, closeConnection: @escaping @Sendable () -> Void) {
        self.id = id
        self.serial = serial
        self.capacity = capacity
        self.closeConnection = closeConnection
    }

    /// Queues a frame; false when the session is closed, or (for `.direct` and `.stored`) full.
    @discardableResult
    func enqueue(_ item: Outgoing) -> Bool {
        let (accepted, start) = state.withLock { state -> (Bool, WriterStart?) in
            if state.closed { return (false, nil) }
            if case .control = item {} else if state.queue.count >= capacity {
                if state.fullSince == nil { state.fullSince = .now }
                return (false, nil)
            }
            state.queue.append(item)
            return (true, Self.claimWriter(&state))
        }
        launch(start)
        return accepted
    }

    // MARK: Writer runs

    private struct WriterStart {
        let run: UInt64
        let start: @Sendable (UInt64) -> Task<Void, Never>
    }

    private func launch(_ claimed: WriterStart?) {
        guard let claimed else { return }
        launched(claimed.start(claimed.run), run: claimed.run)
    }

    /// Marks a writer run as active if none is and there is something to write.
    private static func claimWriter(_ state: inout State) -> WriterStart? {
        guard !state.writing, !state.queue.isEmpty, let start = state.startWriter else { return nil }
        state.writing = true
        state.writerRun += 1
        return WriterStart(run: state.writerRun, start: start)
    }

    private func launched(_ task: Task<Void, Never>, run: UInt64) {
        let cancel = state.withLock { state -> Bool in
            guard state.writerRun == run else { return false }
            state.writerTask = task
            return state.writerCancelled
        }
        if cancel { task.cancel() }
    }

    /// Installs how a writer run is started (a task writing `takeBatch` results to the socket)
    /// and starts one if frames are already queued.
    func attachWriter(_ start: @escaping @Sendable (UInt64) -> Task<Void, Never>) {
        let claimed = state.withLock { state -> WriterStart? in
            state.startWriter = start
            return Self.claimWriter(&state)
        }
        launch(claimed)
    }

    /// Everything queued so far for writer run `run`; nil (and the run is over) when the queue is empty.
    func takeBatch(run: UInt64) -> [Outgoing]? {
        let (batch, waiters) = state.withLock { state -> ([Outgoing]?, [CheckedContinuation<Void, Never>]) in
            if !state.queue.isEmpty {
                let batch = state.queue
                state.queue = []
                state.fullSince = nil
                return (batch, [])
            }
            return (nil, Self.endRun(&state, run))
        }
        for waiter in waiters { waiter.resume() }
        return batch
    }

    /// A writer run returned (also after a failed write or a close frame).
    func writerEnded(run: UInt64) {
        let waiters = state.withLock { Self.endRun(&$0, run) }
        for waiter in waiters { waiter.resume() }
    }

    private static func endRun(_ state: inout State, _ run: UInt64) -> [CheckedContinuation<Void, Never>] {
        guard state.writing, state.writerRun == run else { return [] }
        state.writing = false
        state.writerTask = nil
        defer { state.idleWaiters = [] }
        return state.idleWaiters
    }

    /// No more writer runs; the one in progress, if any, is cancelled (its frames fall back
    /// to the stream) and awaited.
    func stopWriter() async {
        let task = state.withLock { state -> Task<Void, Never>? in
            state.startWriter = nil
            state.writerCancelled = true
            return state.writerTask
        }
        task?.cancel()
        await withCheckedContinuation { continuation in
            let idle = state.withLock { state -> Bool in
                if !state.writing { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    var queuedCount: Int { state.withLock { $0.queue.count } }
    var isClosed: Bool { state.withLock { $0.closed } }
    /// Since when the queue has been refusing frames (back-pressure), if it is.
    var backPressuredSince: ContinuousClock.Instant? { state.withLock { $0.fullSince } }

    /// Stops accepting frames and returns what was never written (a writer run in progress
    /// then finds the queue empty and ends).
    @discardableResult
    func close() -> [Outgoing] {
        state.withLock { state in
            state.closed = true
            defer { state.queue = [] }
            return state.queue
        }
    }

    /// Closes the socket too (replacement by a newer connection, eviction, shutdown).
    func terminate() {
        closeConnection()
    }

    // MARK: Cross-process replacement

    /// Records this registration's generation; true when a newer registration elsewhere was
    /// already announced (the notice can arrive before our own registration's reply).
    func setGeneration(_ generation: UInt64) -> Bool {
        state.withLock { state in
            state.generation = generation
            return generation < state.replacedBy
        }
    }

    /// A registration of this session id with `generation` happened on another process; true
    /// when that makes this connection the older one (it must close). While our own generation
    /// is unknown the notice is kept for `setGeneration`.
    func noteReplaced(by generation: UInt64) -> Bool {
        state.withLock { state in
            state.replacedBy = max(state.replacedBy, generation)
            guard let own = state.generation else { return false }
            return own < generation
        }
    }

    // MARK: Stream delivery bookkeeping

    /// Starts a drain unless one runs; a concurrent request makes the running one go again.
    func beginDrain() -> Bool {
        state.withLock { state in
            if state.draining { state.redrain = true; return false }
            state.draining = true
            state.redrain = false
            return true
        }
    }

    /// Ends a drain; true when another was requested meanwhile (the caller loops).
    func endDrain(lastID: String?) -> Bool {
        state.withLock { state in
            if let lastID { state.lastStreamID = lastID }
            if state.redrain && !state.closed { state.redrain = false; return true }
            state.draining = false
            return false
        }
    }

    var lastStreamID: String? { state.withLock { $0.lastStreamID } }
}
