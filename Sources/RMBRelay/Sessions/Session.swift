import NIOCore
import NIOWebSocket
import ProcessLifecycle
import Synchronization

/// A frame waiting to be written to a session's socket.
enum Outgoing: Sendable {
    /// Routed straight from another connection of this process (no Redis copy exists).
    case direct([UInt8])
    /// Read from the session's stream; its entry is XDELed once written.
    case stored(id: String, bytes: [UInt8])
    /// A WebSocket control frame (pong, close).
    case control(WebSocketOpcode, ByteBuffer)
}

/// The outgoing side of one authenticated connection. Frames for it are queued here and
/// written by at most one writer run at a time (`SessionWriter`, on the channel's event loop),
/// so everything reaches the socket in the order it was queued (a pong is queued behind every
/// earlier envelope). A writer run starts when frames arrive and ends when the queue is empty,
/// so an idle session holds no task and no pending event-loop work. The queue is bounded for
/// direct deliveries; when it is full the router falls back to the session's Redis stream.
final class Session: Sendable {
    let id: SessionID
    let serial: UInt64
    /// The connection's channel: written by `SessionWriter`, closed by `terminate()`.
    let channel: any Channel
    private let capacity: Int

    private struct State {
        var queue: [Outgoing] = []
        /// No more frames are accepted: the connection is gone, or a close frame was taken for writing.
        var closed = false
        /// Starts writer runs; cleared once closed (it refers back to this session).
        var writer: SessionWriter?
        var writing = false
        var writerRun: UInt64 = 0
        /// Frames of a batch whose write failed; they precede the queue in `close()`'s result.
        var unsent: [Outgoing] = []
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
        var fullSince: Duration?
        // stream delivery bookkeeping (owned by StreamDelivery)
        var draining = false
        var redrain = false
        var lastStreamID: String?
        // cross-process replacement (SessionTakeover): this registration's generation, once known
        var generation: UInt64?
    }
    private let state = Locked(State())
    /// When the client was last heard from and last pinged (nanoseconds on the relay's
    /// stopwatch): `SessionLiveness` pings a silent session and closes one that stays silent.
    private let lastHeard: Atomic<UInt64>
    private let lastPinged = Atomic<UInt64>(0)
    /// The relay's: times here are comparable with every other session's.
    private let stopwatch: Stopwatch

    init(id: SessionID, serial: UInt64, capacity: Int, channel: any Channel, stopwatch: Stopwatch) {
        self.id = id
        self.serial = serial
        self.capacity = capacity
        self.channel = channel
        self.stopwatch = stopwatch
        lastHeard = Atomic(UInt64(stopwatch.elapsed().nanoseconds))
    }

    /// Something (any frame) arrived from the client, or reading resumed after a pause.
    func heard() { lastHeard.store(UInt64(stopwatch.elapsed().nanoseconds), ordering: .relaxed) }

    var liveness: (heard: UInt64, pinged: UInt64) { (lastHeard.load(ordering: .relaxed), lastPinged.load(ordering: .relaxed)) }

    func pinged(at now: UInt64) { lastPinged.store(now, ordering: .relaxed) }

    /// Queues a frame; false when the session is closed, or (for `.direct` and `.stored`) full.
    @discardableResult
    func enqueue(_ item: Outgoing) -> Bool {
        let (accepted, start) = state.withLock { state -> (Bool, WriterStart?) in
            if state.closed { return (false, nil) }
            if case .control = item {} else if state.queue.count >= capacity {
                if state.fullSince == nil { state.fullSince = stopwatch.elapsed() }
                return (false, nil)
            }
            state.queue.append(item)
            return (true, Self.claimWriter(&state))
        }
        if let start { start.writer.start(run: start.run) }
        return accepted
    }

    // MARK: Writer runs

    private struct WriterStart {
        let run: UInt64
        let writer: SessionWriter
    }

    /// Marks a writer run as active if none is and there is something to write.
    private static func claimWriter(_ state: inout State) -> WriterStart? {
        guard !state.writing, !state.queue.isEmpty, let writer = state.writer else { return nil }
        state.writing = true
        state.writerRun += 1
        return WriterStart(run: state.writerRun, writer: writer)
    }

    /// Installs the writer and starts a run if frames are already queued.
    func attachWriter(_ writer: SessionWriter) {
        let claimed = state.withLock { state -> WriterStart? in
            guard !state.closed else { return nil }
            state.writer = writer
            return Self.claimWriter(&state)
        }
        if let claimed { claimed.writer.start(run: claimed.run) }
    }

    /// The next frames for writer run `run`, up to and including a close frame (after which
    /// the session accepts nothing more: nothing may follow a close frame on the wire); nil,
    /// and the run is over, when the queue is empty or the session is closed.
    func takeBatch(run: UInt64) -> [Outgoing]? {
        let (batch, waiters) = state.withLock { state -> ([Outgoing]?, [CheckedContinuation<Void, Never>]) in
            guard state.writing, state.writerRun == run else { return (nil, []) }
            if state.closed || state.queue.isEmpty { return (nil, Self.endRun(&state)) }
            state.fullSince = nil
            let closeIndex = state.queue.firstIndex {
                if case .control(.connectionClose, _) = $0 { return true } else { return false }
            }
            guard let closeIndex else {
                defer { state.queue = [] }
                return (state.queue, [])
            }
            let batch = Array(state.queue[...closeIndex])
            state.queue.removeFirst(closeIndex + 1)
            state.closed = true
            state.writer = nil
            return (batch, [])
        }
        for waiter in waiters { waiter.resume() }
        return batch
    }

    /// A writer run stopped (after a close frame or a failed write); `unsent` are the frames
    /// of its last batch that may not have been written.
    func writerEnded(run: UInt64, unsent: [Outgoing] = []) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard state.writing, state.writerRun == run else { return [] }
            state.unsent += unsent
            return Self.endRun(&state)
        }
        for waiter in waiters { waiter.resume() }
    }

    private static func endRun(_ state: inout State) -> [CheckedContinuation<Void, Never>] {
        state.writing = false
        defer { state.idleWaiters = [] }
        return state.idleWaiters
    }

    var queuedCount: Int { state.withLock { $0.queue.count } }
    var isClosed: Bool { state.withLock { $0.closed } }
    /// Since when (on the relay's stopwatch) the queue has been refusing frames (back-pressure), if it is.
    var backPressuredSince: Duration? { state.withLock { $0.fullSince } }

    /// Stops accepting frames, waits for a writer run in progress to end (its write completes
    /// or fails quickly once the socket is closed) and returns what was never written, oldest
    /// first, for the stream fallback.
    func close() async -> [Outgoing] {
        await withCheckedContinuation { continuation in
            let idle = state.withLock { state -> Bool in
                state.closed = true
                state.writer = nil
                if !state.writing { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
        return state.withLock { state in
            defer { state.unsent = []; state.queue = [] }
            return state.unsent + state.queue
        }
    }

    /// Closes the socket at once (eviction of a client that does not read, a silent client);
    /// the connection's cleanup then runs as for any disconnect.
    func terminate() {
        channel.close(promise: nil)
    }

    /// Tells the client with a close frame `code`, queued behind what is already queued (the
    /// writer closes the socket once it is out), and closes the socket after `grace` anyway (a
    /// client that does not read would otherwise keep it).
    func close(with code: WebSocketErrorCode, grace: TimeAmount = .seconds(2)) {
        var body = channel.allocator.buffer(capacity: 2)
        body.write(webSocketErrorCode: code)
        guard enqueue(.control(.connectionClose, body)) else { return terminate() }
        let channel = self.channel
        channel.eventLoop.scheduleTask(in: grace) { channel.close(promise: nil) }
    }

    // MARK: Cross-process replacement

    /// This registration's generation (Redis orders all registrations of a session id across
    /// relay processes); nil until Redis gave it, or when it could not.
    var generation: UInt64? {
        get { state.withLock { $0.generation } }
        set { state.withLock { $0.generation = newValue } }
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
