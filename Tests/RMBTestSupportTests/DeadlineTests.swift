import RMBTestSupport
import Synchronization
import Testing

@Suite struct DeadlineTests {
    @Test func aBodyThatFinishesInTimeGivesItsValue() async throws {
        let value = try await withDeadline(.seconds(30)) { 42 }
        #expect(value == 42)
        // A body whose value is nil is not a timeout.
        let none: Int? = try await withDeadline(.seconds(30)) { nil }
        #expect(none == nil)
    }

    @Test func aBodyPastTheLimitIsCancelledAfterOnTimeout() async throws {
        let events = Mutex<[String]>([])
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(50), onTimeout: { events.withLock { $0.append("timeout") } }) {
                do {
                    try await Task.sleep(for: .seconds(60))
                } catch {
                    events.withLock { $0.append("cancelled") }
                    throw error
                }
            }
        }
        #expect(events.withLock { $0 } == ["timeout", "cancelled"])
    }

    @Test func theBodysErrorIsThrown() async throws {
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await withDeadline(.seconds(30)) { throw Refused() }
        }
    }
}
