import ProcessLifecycle
import RMBTestSupport
import Testing
@testable import RMBRelay

/// The federation circuit breaker on a manual clock: cool-downs to the millisecond.
struct CircuitBreakerTests {
    @Test("opens after the threshold, half-opens for one trial at the cool-down, doubles on a failed trial, closes on success")
    func coolDowns() {
        let clock = ManualClock()
        let breaker = CircuitBreaker(threshold: 3, baseCooldown: .seconds(5), maxCooldown: .seconds(15), stopwatch: Stopwatch(clock))
        let domain = "relay.example"
        #expect(breaker.recordFailure(domain) == false)
        #expect(breaker.recordFailure(domain) == false)
        #expect(breaker.allows(domain))
        #expect(breaker.recordFailure(domain), "the third failure opens it")
        #expect(breaker.isOpen(domain))
        #expect(!breaker.allows(domain))
        // A request from before it opened failing now does not extend the cool-down.
        #expect(breaker.recordFailure(domain) == false)
        clock.advance(by: .milliseconds(4_999))
        #expect(!breaker.allows(domain), "still cooling down 1 ms before the end")
        clock.advance(by: .milliseconds(1))
        #expect(breaker.allows(domain), "one trial at the end of the cool-down")
        #expect(!breaker.allows(domain), "and only one")
        #expect(breaker.recordFailure(domain), "a failed trial reopens it")
        clock.advance(by: .milliseconds(9_999))
        #expect(!breaker.allows(domain), "the cool-down doubled to 10 s")
        clock.advance(by: .milliseconds(1))
        #expect(breaker.allows(domain))
        #expect(breaker.recordFailure(domain))
        clock.advance(by: .milliseconds(14_999))
        #expect(!breaker.allows(domain), "doubling stops at the 15-s maximum")
        clock.advance(by: .milliseconds(1))
        #expect(breaker.allows(domain))
        #expect(breaker.recordSuccess(domain), "a successful trial closes it")
        #expect(!breaker.isOpen(domain))
        #expect(breaker.allows(domain))
        #expect(breaker.recordFailure(domain) == false, "closed again: failures count from zero")
    }

    @Test("domains are independent")
    func independentDomains() {
        let clock = ManualClock()
        let breaker = CircuitBreaker(threshold: 1, baseCooldown: .seconds(1), stopwatch: Stopwatch(clock))
        #expect(breaker.recordFailure("a"))
        #expect(!breaker.allows("a"))
        #expect(breaker.allows("b"))
    }
}
