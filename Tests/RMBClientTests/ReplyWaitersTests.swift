import RMBTestSupport
import Testing
@testable import RMBClient

/// The waiters' one shared timer, driven by a manual clock: a call times out within one tick
/// of its timeout and not before, a replied call is never timed out, and the timer stops when
/// no call waits.
@Suite(.timeLimit(.minutes(1)))
struct ReplyWaitersTests {
    @Test func callsTimeOutWithinOneTickOfTheirTimeoutAndRepliedCallsDoNot() async throws {
        let clock = ManualClock()
        let waiters = ReplyWaiters(clock: clock)
        let slow = waiters.makeReference(), fast = waiters.makeReference(), later = waiters.makeReference()
        #expect(Set([slow, fast, later]).count == 3)
        _ = waiters.register(slow)
        _ = waiters.register(fast)
        _ = waiters.register(later)
        let slowCall = Task { await waiters.collect([(1, slow)], timeout: .milliseconds(100)) }
        let fastCall = Task { await waiters.collect([(2, fast)], timeout: .milliseconds(100)) }
        let laterCall = Task { await waiters.collect([(3, later)], timeout: .milliseconds(300)) }
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { waiters.waitingCount == 3 })

        // 80 ms: nothing is due; the reply to `fast` settles it.
        for _ in 0..<4 { try await tick(clock) }
        #expect(waiters.settle(fast, .success(RMBReply(payload: [7], source: "2", schema: nil, timestamp: 0))))
        #expect(try await fastCall.value.first?.outcome.get().payload == [7])
        #expect(waiters.count == 2)

        // 100 ms: `slow` is due at this tick (its deadline has passed), `later` is not.
        try await tick(clock)
        let slowOutcome = await slowCall.value.first?.outcome
        #expect(throws: RMBCallError.timeout(.milliseconds(100))) { try slowOutcome?.get() }
        #expect(waiters.count == 1)

        // 280 ms: `later` still waits; 300 ms: timed out; then the timer stops (no sleeper left).
        for _ in 0..<9 { try await tick(clock) }
        #expect(waiters.count == 1)
        try await tick(clock)
        let laterOutcome = await laterCall.value.first?.outcome
        #expect(throws: RMBCallError.timeout(.milliseconds(300))) { try laterOutcome?.get() }
        #expect(waiters.count == 0)
        #expect(!waiters.settle(slow, .failure(.cancelled)), "a late reply reaches nobody")
        // At its next tick the timer finds no call waiting and stops.
        #expect(await clock.waitForSleepers(1))
        clock.advance(by: ReplyWaiters.tick)
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { clock.sleeperCount == 0 },
                "the timer runs only while calls wait")
    }

    /// Advances one timer period once the timer sleeps, then lets it act.
    private func tick(_ clock: ManualClock) async throws {
        #expect(await clock.waitForSleepers(1))
        clock.advance(by: ReplyWaiters.tick)
        // The timer wakes, settles what is due and sleeps again (or stops): the next tick waits for that.
        await Task.yield()
    }
}
