import RMBTestSupport
import Synchronization
import Testing
@testable import Redundancy

/// The hedge deadlines of all batches in flight on one sleeper, driven by a manual clock.
@Suite(.timeLimit(.minutes(1))) struct HedgeTimerTests {
    /// What fired, in order.
    final class Fired: Sendable {
        private let values = Mutex<[Int]>([])
        func append(_ value: Int) { values.withLock { $0.append(value) } }
        var list: [Int] { values.withLock { $0 } }

        /// Waits (bounded) until the list is `expected`.
        func becomes(_ expected: [Int]) async -> Bool {
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                if list == expected { return true }
                try? await Task.sleep(for: .milliseconds(1))
            }
            return list == expected
        }
    }

    @Test func deadlinesFireAtTheirTimeInOrderAndCancelledOnesNever() async throws {
        let clock = ManualClock()
        let timer = HedgeTimer(clock: clock)
        let fired = Fired()
        _ = timer.schedule(after: .milliseconds(200)) { fired.append(200) }
        let cancelled = timer.schedule(after: .milliseconds(250)) { fired.append(250) }
        _ = timer.schedule(after: .milliseconds(300)) { fired.append(300) }
        // One sleeper for all three.
        #expect(await clock.waitForSleepers(1))
        #expect(clock.sleeperCount == 1)
        timer.cancel(cancelled)
        clock.advance(by: .milliseconds(199))
        #expect(await clock.waitForSleepers(1))
        #expect(fired.list.isEmpty, "fired 1 ms early")
        clock.advance(by: .milliseconds(1))
        #expect(await fired.becomes([200]))
        // The sleeper goes on to 300 (the cancelled 250 is gone).
        #expect(await clock.waitForSleepers(1))
        clock.advance(by: .milliseconds(99))
        #expect(await clock.waitForSleepers(1))
        #expect(fired.list == [200])
        clock.advance(by: .milliseconds(1))
        #expect(await fired.becomes([200, 300]))
        #expect(timer.pendingCount == 0)
        // Nothing pending: the sleeper stopped.
        let deadline = ContinuousClock.now + .seconds(10)
        while clock.sleeperCount > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
        #expect(clock.sleeperCount == 0)
    }

    @Test func anEarlierDeadlineTakesOverWithoutLosingTheLaterOne() async throws {
        let clock = ManualClock()
        let timer = HedgeTimer(clock: clock)
        let fired = Fired()
        _ = timer.schedule(after: .milliseconds(500)) { fired.append(500) }
        #expect(await clock.waitForSleepers(1))
        _ = timer.schedule(after: .milliseconds(200)) { fired.append(200) }
        #expect(await clock.waitForSleepers(2))
        clock.advance(by: .milliseconds(200))
        #expect(await fired.becomes([200]))
        clock.advance(by: .milliseconds(300))
        #expect(await fired.becomes([200, 500]))
        // Each fired once, though two sleepers were woken at 500 ms.
        try await Task.sleep(for: .milliseconds(50))
        #expect(fired.list == [200, 500])
        let deadline = ContinuousClock.now + .seconds(10)
        while clock.sleeperCount > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(1)) }
        #expect(clock.sleeperCount == 0, "a sleeper outlived every deadline")
    }

    @Test func aCancelledDeadlineAloneFiresNothing() async throws {
        let clock = ManualClock()
        let timer = HedgeTimer(clock: clock)
        let fired = Fired()
        let token = timer.schedule(after: .milliseconds(200)) { fired.append(200) }
        #expect(await clock.waitForSleepers(1))
        timer.cancel(token)
        clock.advance(by: .seconds(1))
        try await Task.sleep(for: .milliseconds(50))
        #expect(fired.list.isEmpty)
        #expect(timer.pendingCount == 0)
    }
}
