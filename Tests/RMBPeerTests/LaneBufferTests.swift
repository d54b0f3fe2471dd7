import Synchronization
import Testing
@testable import RMBEngine
@testable import RMBPeer
import Redundancy

/// The FIFO between the downstream stages: order, batches, the end, and backpressure.
struct LaneBufferTests {
    @Test func batchesKeepOrderAndEndEmptyAfterFinish() async {
        let buffer = LaneBuffer<Int>()
        for value in 0..<5 { await buffer.append(value) }
        #expect(await buffer.takeBatch(limit: 3) == [0, 1, 2])
        #expect(await buffer.takeBatch(limit: 3) == [3, 4])
        await buffer.finish()
        #expect(await buffer.takeBatch(limit: 3) == [])
    }

    @Test func aProducerWaitsWhileTheConsumerIsBehind() async throws {
        let buffer = LaneBuffer<Int>()
        let appended = Atomic<Int>(0)
        let producer = Task {
            for value in 0..<4 {
                await buffer.append(value, waitingBelow: 2)
                appended.add(1, ordering: .relaxed)
            }
        }
        // Two are buffered: the producer is parked inside its second append.
        for _ in 0..<200 where appended.load(ordering: .relaxed) < 1 { try await Task.sleep(for: .milliseconds(5)) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(appended.load(ordering: .relaxed) == 1)
        var taken = await buffer.takeBatch(limit: 10)
        #expect(taken == [0, 1])
        // Released, it goes on (parking again whenever two are buffered) while we keep taking.
        while taken.count < 4 { taken += await buffer.takeBatch(limit: 10) }
        #expect(taken == [0, 1, 2, 3])
        await producer.value
        #expect(appended.load(ordering: .relaxed) == 4)
    }

    /// Bytes bound a buffer too: two 600-byte elements fill a 1,000-byte budget long before the
    /// count does, and one element heavier than the budget waits until it is taken.
    @Test func aProducerWaitsWhileTheBufferedBytesReachTheirBudget() async throws {
        let buffer = LaneBuffer<[UInt8]>(weigh: { $0.count })
        let appended = Atomic<Int>(0)
        let producer = Task {
            for size in [600, 600, 5_000, 10] {
                await buffer.append([UInt8](repeating: 0, count: size), waitingBelow: 100, weightBelow: 1_000)
                appended.add(1, ordering: .relaxed)
            }
        }
        for _ in 0..<200 where appended.load(ordering: .relaxed) < 1 { try await Task.sleep(for: .milliseconds(5)) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(appended.load(ordering: .relaxed) == 1, "the second 600 bytes reach the budget: the producer waits")
        #expect(await buffer.weight == 1_200)
        var taken = await buffer.takeBatch(limit: 10).map(\.count)
        #expect(taken == [600, 600])
        while taken.count < 4 { taken += await buffer.takeBatch(limit: 10).map(\.count) }
        #expect(taken == [600, 600, 5_000, 10])
        await producer.value
        #expect(await buffer.weight == 0)
    }

    @Test func finishReleasesAWaitingProducer() async {
        let buffer = LaneBuffer<Int>()
        let producer = Task { await buffer.append(1, waitingBelow: 1) }
        await buffer.finish()
        await producer.value
        #expect(await buffer.takeBatch(limit: 10) == [1])
    }

    @Test func aLongBacklogIsTakenInOrderAcrossCompactions() async {
        let buffer = LaneBuffer<Int>()
        await buffer.append(contentsOf: Array(0..<20_000))
        var taken: [Int] = []
        for round in 0..<30 {
            taken += await buffer.takeBatch(limit: 512)
            // producers keep adding while the backlog is taken (the compaction keeps both ends right)
            await buffer.append(20_000 + round)
        }
        while await buffer.count > 0 { taken += await buffer.takeBatch(limit: 4096) }
        #expect(taken == Array(0..<20_030))
    }
}
