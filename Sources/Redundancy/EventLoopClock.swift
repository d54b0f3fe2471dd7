import NIOCore
import NIOPosix
import Synchronization

/// The continuous clock, with sleeps that are timers of the event loop the sleeping task runs on.
///
/// Why: `ContinuousClock.sleep` is a Dispatch timer. When it fires, a Dispatch worker thread
/// wakes only to hand the task back to its executor, whose thread it wakes in turn (with NIO as
/// the global executor, an event loop). A relay session sleeps often — the confirmation window
/// after nearly every batch at a few hundred messages a second — and those sleeps cost two
/// thread wake-ups each. An event loop's timer is its own wait's timeout: the loop wakes for it
/// and nothing else does. A task that is not on an event loop sleeps on one of the singleton
/// group's loops.
public struct EventLoopClock: Clock {
    public typealias Instant = ContinuousClock.Instant

    public init() {}

    public var now: Instant { .now }
    public var minimumResolution: Duration { ContinuousClock().minimumResolution }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let delay = Instant.now.duration(to: deadline)
        guard delay > .zero else { return try Task.checkCancellation() }
        let (seconds, attoseconds) = delay.components
        let nanoseconds = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let amount = TimeAmount.nanoseconds(nanoseconds.overflow ? .max : nanoseconds.partialValue &+ attoseconds / 1_000_000_000)
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? MultiThreadedEventLoopGroup.singleton.any()
        let sleep = Sleep()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let timer = loop.scheduleTask(in: amount) { sleep.fire() }
                sleep.start(continuation, timer: timer)
            }
        } onCancel: {
            sleep.cancel()
        }
    }
}

/// One sleep's continuation, its timer, and whichever of start, fire and cancel comes first.
private final class Sleep: Sendable {
    private enum State {
        case initial
        case waiting(CheckedContinuation<Void, any Error>, Scheduled<Void>)
        /// The timer fired, or the task was cancelled, before the continuation was stored.
        case fired
        case cancelled
        case finished
    }

    private let state = Mutex(State.initial)

    func start(_ continuation: CheckedContinuation<Void, any Error>, timer: Scheduled<Void>) {
        let early = state.withLock { state -> State? in
            switch state {
            case .initial:
                state = .waiting(continuation, timer)
                return nil
            case .fired, .cancelled:
                defer { state = .finished }
                return state
            case .waiting, .finished:
                return nil
            }
        }
        switch early {
        case .fired?: continuation.resume()
        case .cancelled?:
            timer.cancel()
            continuation.resume(throwing: CancellationError())
        default: break
        }
    }

    func fire() {
        let continuation = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            switch state {
            case .initial:
                state = .fired
                return nil
            case .waiting(let continuation, _):
                state = .finished
                return continuation
            case .fired, .cancelled, .finished:
                return nil
            }
        }
        continuation?.resume()
    }

    func cancel() {
        let waiting = state.withLock { state -> (CheckedContinuation<Void, any Error>, Scheduled<Void>)? in
            switch state {
            case .initial:
                state = .cancelled
                return nil
            case .waiting(let continuation, let timer):
                state = .finished
                return (continuation, timer)
            case .fired, .cancelled, .finished:
                return nil
            }
        }
        guard let (continuation, timer) = waiting else { return }
        timer.cancel()
        continuation.resume(throwing: CancellationError())
    }
}
