import NIOCore
import NIOPosix
import Redundancy
import Testing

/// ``EventLoopClock``: the clock under its own test, so on real time, with lower bounds only
/// (a sleep never ends early) and cancellation ending an hour's sleep at once.
@Suite("EventLoopClock", .timeLimit(.minutes(1)))
struct EventLoopClockTests {
    @Test func aSleepLastsAtLeastItsDuration() async throws {
        let clock = EventLoopClock()
        let start = ContinuousClock.now
        try await clock.sleep(for: .milliseconds(30))
        #expect(ContinuousClock.now - start >= .milliseconds(30))
    }

    /// From a task on an event loop, the timer is that loop's own.
    @Test func aSleepOnAnEventLoopEndsOnIt() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let clock = EventLoopClock()
        let start = ContinuousClock.now
        let future = loop.makeFutureWithTask {
            try await clock.sleep(for: .milliseconds(20))
            return ContinuousClock.now
        }
        let end = try await future.get()
        #expect(end - start >= .milliseconds(20))
    }

    @Test func aDeadlineInThePastReturnsAtOnce() async throws {
        let clock = EventLoopClock()
        try await clock.sleep(until: clock.now.advanced(by: .seconds(-1)))
    }

    @Test func cancellationEndsASleepWithCancellationError() async throws {
        let clock = EventLoopClock()
        let sleeping = Task { () -> (any Error)? in
            do {
                try await clock.sleep(for: .seconds(3600))
                return nil
            } catch {
                return error
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        sleeping.cancel()
        let error = await sleeping.value
        #expect(error is CancellationError)
    }

    @Test func aTaskCancelledBeforeItSleepsDoesNotSleep() async throws {
        let clock = EventLoopClock()
        let sleeping = Task { () -> (any Error)? in
            withUnsafeCurrentTask { $0?.cancel() }
            do {
                try await clock.sleep(for: .seconds(3600))
                return nil
            } catch {
                return error
            }
        }
        let error = await sleeping.value
        #expect(error is CancellationError)
    }
}
