import NIOWebSocket

/// What a connection's channel reported, in arrival order.
enum InboundEvent: Sendable {
    case frame(WebSocketFrame)
    /// The socket is closed; nothing follows.
    case closed
}

/// The frames of one connection waiting to be processed, and whether a processing run is
/// active. The channel handler appends on the event loop; a run (a task that exists only while
/// there is something to process) takes everything queued and handles it in order, so frames
/// are processed strictly one after the other without a task per idle connection. Reading is
/// paused above `limit` queued frames and resumed once a run has taken them.
struct InboundQueue {
    static let limit = 64

    private var events: [InboundEvent] = []
    /// The connection is registered: runs may start (frames wait until then).
    private var started = false
    private var running = false
    /// A close was decided (text frame, close frame, bad envelope): later frames are dropped.
    private var stopped = false
    /// Reading is paused because too many frames are queued.
    private(set) var paused = false

    /// Appends `event`; says whether to start a run and whether to pause reading.
    mutating func append(_ event: InboundEvent) -> (startRun: Bool, pause: Bool) {
        if case .frame = event, stopped { return (false, false) }
        events.append(event)
        var pause = false
        if events.count > Self.limit && !paused {
            paused = true
            pause = true
        }
        return (claimRun(), pause)
    }

    /// The connection is registered; true when a run must start for frames already queued.
    mutating func start() -> Bool {
        started = true
        return claimRun()
    }

    private mutating func claimRun() -> Bool {
        guard started, !running, !events.isEmpty else { return false }
        running = true
        return true
    }

    /// Everything queued, for the active run; nil (and the run is over) when nothing is.
    mutating func take() -> [InboundEvent]? {
        guard !events.isEmpty else {
            running = false
            return nil
        }
        defer { events = [] }
        if stopped { return events.filter { if case .closed = $0 { true } else { false } } }
        return events
    }

    /// Later frames are dropped (the `closed` event is still delivered).
    mutating func stop() { stopped = true }

    /// Whether reading, paused, may resume now (on the event loop, where pauses are decided).
    mutating func resume() -> Bool {
        guard paused, events.count <= Self.limit / 2 else { return false }
        paused = false
        return true
    }
}
