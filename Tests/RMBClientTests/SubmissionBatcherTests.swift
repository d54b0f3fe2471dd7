import RMBTestSupport
import Synchronization
import Testing
@testable import RMBClient

/// The batcher gathers what arrives during a send into the next one, in order; `submit` hears
/// its batch's outcome, `enqueue` returns at once and leaves failures to the send. A send in two
/// steps lets the next batch go once the previous one is placed, up to the unsettled limit.
@Suite(.timeLimit(.minutes(1)))
struct SubmissionBatcherTests {
    /// A send that records its batches and waits for the test to let each one finish.
    final class GatedSend: Sendable {
        let batches = Mutex<[[Int]]>([])
        let gates = Mutex<[CheckedContinuation<Result<Void, RMBCallError>, Never>]>([])

        func send(_ items: [Int]) async -> Result<Void, RMBCallError> {
            await withCheckedContinuation { continuation in
                batches.withLock { $0.append(items) }
                gates.withLock { $0.append(continuation) }
            }
        }

        /// Ends the oldest send in progress with `result`, once one is in progress (within 10 s;
        /// polling every millisecond, so that a test gone wrong does not spin a core meanwhile).
        func finishNext(_ result: Result<Void, RMBCallError>) async {
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                let gate: CheckedContinuation<Result<Void, RMBCallError>, Never>? = gates.withLock { gates in
                    gates.isEmpty ? nil : gates.removeFirst()
                }
                if let gate { gate.resume(returning: result); return }
                try? await Task.sleep(for: .milliseconds(1))
            }
            Issue.record("no send in progress to finish within 10 s")
        }
    }

    @Test func whatArrivesDuringASendLeavesTogetherInOrder() async throws {
        let sender = GatedSend()
        let batcher = SubmissionBatcher<Int>(sendSettled: { await sender.send($0) })
        let first = Task { await batcher.submit([1]) }
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(1)) { sender.batches.withLock { $0.count } == 1 })

        batcher.enqueue([2, 3])
        batcher.enqueue([4])
        let last = Task { await batcher.submit([5]) }
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(1)) { batcher.queuedCount == 4 })
        await sender.finishNext(.success(()))
        #expect(try await first.value.get() == ())

        await sender.finishNext(.failure(.transport("down")))
        guard case .failure(.transport("down")) = await last.value else {
            Issue.record("the second batch's failure did not reach its submit")
            return
        }
        #expect(sender.batches.withLock { $0 } == [[1], [2, 3, 4, 5]])
    }

    @Test func aLoneEnqueueIsSentWithoutAnyoneWaiting() async throws {
        let sent = Mutex<[[Int]]>([])
        let batcher = SubmissionBatcher<Int>(sendSettled: { items in
            sent.withLock { $0.append(items) }
            return .success(())
        })
        batcher.enqueue([7])
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(1)) { sent.withLock { $0 } == [[7]] })
        // The sender stopped; the next enqueue starts another.
        batcher.enqueue([8])
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(1)) { sent.withLock { $0 } == [[7], [8]] })
    }

    /// A send in two steps: records its batches as they are placed, then waits for the test to
    /// let each outcome come.
    final class TwoStepSend: Sendable {
        let placed = Mutex<[[Int]]>([])
        let outcomes = GatedSend()

        func send(_ items: [Int]) -> SubmissionBatcher<Int>.Sent {
            placed.withLock { $0.append(items) }
            return .settling { await self.outcomes.send(items) }
        }
    }

    @Test func theNextBatchGoesOnceThePreviousIsPlacedNotSettled() async throws {
        let sender = TwoStepSend()
        let batcher = SubmissionBatcher<Int>(unsettledLimit: 4) { sender.send($0) }
        let first = Task { await batcher.submit([1]) }
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(1)) { sender.placed.withLock { $0.count } == 1 })
        let placed = Task { await batcher.submit([2], until: .placed) }
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(1)) { sender.placed.withLock { $0.count } == 2 })
        // The second batch went while the first's outcome was still to come; `.placed` has returned.
        #expect(sender.outcomes.batches.withLock { $0 } == [[1], [2]])
        #expect(try await placed.value.get() == ())
        await sender.outcomes.finishNext(.failure(.transport("disk")))
        guard case .failure(.transport("disk")) = await first.value else {
            Issue.record("the first batch's outcome did not reach its submit")
            return
        }
        await sender.outcomes.finishNext(.success(()))
    }

    @Test func atTheUnsettledLimitTheNextSendWaitsForTheOldestOutcome() async throws {
        let sender = TwoStepSend()
        let batcher = SubmissionBatcher<Int>(unsettledLimit: 1) { sender.send($0) }
        batcher.enqueue([1])
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(1)) { sender.placed.withLock { $0.count } == 1 })
        let second = Task { await batcher.submit([2], until: .placed) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(sender.placed.withLock { $0 } == [[1]])
        #expect(batcher.queuedCount == 0)   // taken, waiting for room
        await sender.outcomes.finishNext(.success(()))
        #expect(try await second.value.get() == ())
        #expect(sender.placed.withLock { $0 } == [[1], [2]])
        await sender.outcomes.finishNext(.success(()))
    }
}
