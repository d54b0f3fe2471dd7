import ProcessLifecycle
import RMBTestSupport
import Testing
@testable import RMBRelay

/// Federation's relay ranking on a manual clock: failures count for one period, then not.
struct RelayRankerTests {
    @Test("domains with fewer failures in the period come first; failures older than the period stop counting")
    func failuresAgeOutOfThePeriod() {
        let clock = ManualClock()
        let ranker = RelayRanker(period: .seconds(3600), stopwatch: Stopwatch(clock))
        ranker.downvote("a")
        ranker.downvote("a")
        ranker.downvote("b")
        #expect(ranker.rank(["a", "b", "c"]) == ["c", "b", "a"])
        clock.advance(by: .seconds(1800))
        ranker.downvote("b")
        ranker.downvote("b")
        #expect(ranker.rank(["a", "b", "c"]) == ["c", "a", "b"], "b: 3 failures within the hour, a: 2")
        #expect(ranker.rate("b") == 3)
        clock.advance(by: .seconds(1799))
        #expect(ranker.rate("a") == 2, "a's failures are 59:59 old: still counted")
        clock.advance(by: .seconds(1))
        #expect(ranker.rate("a") == 0, "an hour old: out of the period")
        #expect(ranker.rate("b") == 2, "b's two later failures remain")
        #expect(ranker.rank(["a", "b", "c"]).last == "b")
        #expect(Set(ranker.rank(["a", "b", "c"]).prefix(2)) == ["a", "c"])
    }
}
