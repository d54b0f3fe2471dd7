import NIOCore

/// Matches replies to calls on one connection. Redis answers in the order it received commands,
/// so the calls in flight form a FIFO and each reply completes the oldest; any number of calls
/// can be in flight at once (pipelining). Used only on the channel's event loop.
///
/// Every continuation handed to `enqueue` is resumed exactly once: by its reply(ies), or by the
/// failure that ends the connection (timeout, I/O error, protocol error, close), which fails
/// every call in flight at once. A call arriving after that fails with `RedisNotSent` without
/// touching the socket, so the caller may safely send it on a new connection.
final class RedisChannelHandler: ChannelInboundHandler {
    typealias InboundIn = RedisReply
    typealias OutboundOut = RedisRequest

    /// How a call is resumed: one reply, or all of a pipeline's.
    enum Continuation {
        case reply(CheckedContinuation<RedisReply, any Error>)
        case replies(CheckedContinuation<[RedisReply], any Error>)

        func fail(_ error: any Error) {
            switch self {
            case let .reply(continuation): continuation.resume(throwing: error)
            case let .replies(continuation): continuation.resume(throwing: error)
            }
        }
    }

    private struct Call {
        let replyCount: Int
        let continuation: Continuation
        /// Longest wait for this call's replies once it is the oldest in flight (`nil`: none).
        let timeout: TimeAmount?
    }

    private var context: ChannelHandlerContext?
    private var calls = CircularBuffer<Call>(initialCapacity: 16)
    /// Replies received so far for the oldest call when it is a pipeline.
    private var headReplies: [RedisReply] = []
    /// When the oldest call became the oldest (sent, or the previous call answered): its timeout
    /// counts from there, so a call queued behind a slow one is not blamed for its wait.
    private var headSince = NIODeadline.now()
    private var timer: Scheduled<Void>?
    private var timerDeadline = NIODeadline.distantFuture
    /// Set when the connection ended; later calls are refused.
    private var ended = false
    /// `close(gracefully: true)` waits for the calls in flight.
    private var closing = false
    /// A flush waits its turn on the event loop: commands enqueued meanwhile (many callers at
    /// once) leave in one write instead of one system call each.
    private var flushQueued = false

    // MARK: Calls (on the event loop)

    func enqueue(_ request: RedisRequest, timeout: TimeAmount?, continuation: Continuation) {
        guard !ended, !closing, let context, context.channel.isActive else {
            continuation.fail(RedisNotSent())
            return
        }
        if calls.isEmpty { headSince = .now() }
        calls.append(Call(replyCount: request.replyCount, continuation: continuation, timeout: timeout))
        context.write(Self.wrapOutboundOut(request), promise: nil)
        if !flushQueued {
            flushQueued = true
            context.eventLoop.assumeIsolated().execute { self.flushQueuedWrites() }
        }
        armTimer()
    }

    private func flushQueuedWrites() {
        flushQueued = false
        context?.flush()
    }

    /// Ends the connection: at once (calls in flight fail with `.closed`), or once the calls in
    /// flight are answered.
    func close(gracefully: Bool) {
        guard !ended else { return }
        if gracefully, !calls.isEmpty {
            closing = true
        } else {
            end(oldest: .closed, others: .closed)
        }
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        end(oldest: .closed, others: .closed)
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !ended else { return }
        let reply = Self.unwrapInboundIn(data)
        guard let oldest = calls.first else {
            end(oldest: .protocolError("reply without a command: \(reply)"), others: .closed)
            return
        }
        switch oldest.continuation {
        case let .reply(continuation):
            calls.removeFirst()
            continuation.resume(returning: reply)
        case let .replies(continuation):
            headReplies.append(reply)
            guard headReplies.count == oldest.replyCount else { return }
            calls.removeFirst()
            let replies = headReplies
            headReplies = []
            continuation.resume(returning: replies)
        }
        if calls.isEmpty {
            if closing { end(oldest: .closed, others: .closed) }
        } else {
            headSince = .now()
            armTimer()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        end(oldest: .io("connection closed by the server"), others: .io("connection closed by the server"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let failure = error as? RedisError ?? .io("\(error)")
        end(oldest: failure, others: failure)
    }

    // MARK: Internals

    /// Fails every call in flight, refuses later ones and closes the channel.
    private func end(oldest: RedisError, others: RedisError) {
        guard !ended else { return }
        ended = true
        timer?.cancel()
        timer = nil
        let failed = calls
        calls.removeAll()
        headReplies = []
        // Closed first, so a caller resumed on another thread already sees `isUsable == false`.
        context?.close(promise: nil)
        for (index, call) in failed.enumerated() { call.continuation.fail(index == 0 ? oldest : others) }
    }

    /// Keeps one timer for the oldest call's deadline. Replies in time only move `headSince`;
    /// the timer re-arms itself when it fires early, so the steady state costs no timer work.
    private func armTimer() {
        guard let context, let oldest = calls.first, let timeout = oldest.timeout else { return }
        let deadline = headSince + timeout
        if timer != nil {
            guard deadline < timerDeadline else { return }
            timer?.cancel()
        }
        timerDeadline = deadline
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in timerFired() }
    }

    private func timerFired() {
        timer = nil
        timerDeadline = .distantFuture
        guard !ended, let oldest = calls.first, let timeout = oldest.timeout else { return }
        if headSince + timeout <= .now() {
            // Later replies would be matched to the wrong calls: the connection is done for.
            end(oldest: .timeout, others: .io("connection closed after an earlier command timed out"))
        } else {
            armTimer()
        }
    }
}

/// A call refused because its connection had already ended: nothing was written, so it can be
/// sent on a fresh connection without risk of running twice.
struct RedisNotSent: Error, CustomStringConvertible {
    var description: String { "Redis connection ended before the command was sent" }
}
