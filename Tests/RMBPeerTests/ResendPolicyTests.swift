import Store
import Testing
@testable import RMBEngine
@testable import RMBPeer

/// When unanswered requests are re-sent (issue 5): at ½, ¾, ⅞ of the remaining ttl, at most 3
/// times, never closer than 10 s, never at or after the deadline.
@Suite struct ResendPolicyTests {
    let start = StoreTime(seconds: 1_700_000_000)
    func at(_ seconds: Int64) -> StoreTime { start.adding(milliseconds: seconds * 1000) }

    @Test func halvesTheRemainingTimeAtMostThreeTimes() {
        let policy = ResendPolicy()
        let deadline = at(120)
        #expect(policy.next(after: start, deadline: deadline, resends: 0) == at(60))
        #expect(policy.next(after: at(60), deadline: deadline, resends: 1) == at(90))
        #expect(policy.next(after: at(90), deadline: deadline, resends: 2) == at(105))
        #expect(policy.next(after: at(105), deadline: deadline, resends: 3) == nil)
    }

    @Test func keepsTheMinimumIntervalAndStopsBeforeTheDeadline() {
        let policy = ResendPolicy()
        #expect(policy.next(after: start, deadline: at(30), resends: 0) == at(15))
        #expect(policy.next(after: at(15), deadline: at(30), resends: 1) == at(25))    // ½ of 15 s < 10 s
        #expect(policy.next(after: at(25), deadline: at(30), resends: 2) == nil)       // +10 s is past it
        #expect(policy.next(after: at(30), deadline: at(30), resends: 0) == nil)
        #expect(policy.next(after: at(40), deadline: at(30), resends: 0) == nil)
    }
}
