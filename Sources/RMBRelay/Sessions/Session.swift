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

/// One authenticated connection. Frames for it are queued here and written by the connection's
/// single writer task, so everything reaches the socket in the order it was queued (a pong is
/// queued behind every earlier envelope). The queue is bounded for direct deliveries; when it is
/// full the router falls back to the session's Redis stream.
final class Session: Sendable {
    let id: SessionID
    let serial: UInt64
    private let capacity: Int
    private let closeConnection: @Sendable () -> Void

    private struct State {
        var queue: [Outgoing] = []
        var waiter: CheckedContinuation<Void, Never>?
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
        let waiter: CheckedContinuation<Void, Never>?
        let accepted: Bool
        (accepted, waiter) = state.withLock { state in
            if state.closed { return (false, nil) }
            if case .control = item {} else if state.queue.count >= capacity {
                if state.fullSince == nil { state.fullSince = .now }
                return (false, nil)
            }
            state.queue.append(item)
            let waiter = state.waiter
            state.waiter = nil
            return (true, waiter)
        }
        waiter?.resume()
        return accepted
    }

    /// Everything queued so far, waiting until something is; nil once closed and empty.
    func nextBatch() async -> [Outgoing]? {
        while true {
            let result: [Outgoing]?? = state.withLock { state in
                if !state.queue.isEmpty {
                    let batch = state.queue
                    state.queue = []
                    state.fullSince = nil
                    return .some(batch)
                }
                return state.closed ? .some(nil) : nil
            }
            if let result { return result }
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if !state.queue.isEmpty || state.closed { return true }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    var queuedCount: Int { state.withLock { $0.queue.count } }
    var isClosed: Bool { state.withLock { $0.closed } }
    /// Since when the queue has been refusing frames (back-pressure), if it is.
    var backPressuredSince: ContinuousClock.Instant? { state.withLock { $0.fullSince } }

    /// Stops accepting frames, wakes the writer, and returns what was never written.
    @discardableResult
    func close() -> [Outgoing] {
        let (left, waiter) = state.withLock { state in
            state.closed = true
            let left = state.queue
            state.queue = []
            let waiter = state.waiter
            state.waiter = nil
            return (left, waiter)
        }
        waiter?.resume()
        return left
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
