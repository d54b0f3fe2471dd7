import Testing
@testable import RMBRelay

struct WorkerSlotsTests {
    @Test func firstWorkerWithRoomTakesTheSession() {
        var slots = WorkerSlots(workers: 3, usersPerWorker: 2)
        #expect((0..<6).map { _ in slots.assign() } == [0, 0, 1, 1, 2, 2])
        slots.release(1)
        #expect(slots.loads == [2, 1, 2])
        #expect(slots.assign() == 1)
        // Full: the last worker takes it over its limit rather than leave it unaccounted.
        #expect(slots.assign() == 2)
        #expect(slots.loads == [2, 2, 3])
        slots.release(0); slots.release(0)
        #expect(slots.assign() == 0)
        slots.release(7)   // unknown worker: ignored
        #expect(slots.loads == [1, 2, 3])
    }
}
