import NIOEmbedded
import ProcessLifecycle
import Testing
@testable import RMBRelay

/// Which of two connections of one session id closes: the older by generation (the order Redis
/// gives every registration across relay processes), whatever order they reach this process in.
struct SessionRegistryTests {
    private let id = SessionID(twin: 41, sid: "s")

    private func connection(_ registry: SessionRegistry, generation: UInt64?) -> Session {
        let session = Session(id: id, serial: registry.makeSerial(), capacity: 8, channel: EmbeddedChannel(),
                              stopwatch: Stopwatch(ContinuousClock()))
        session.generation = generation
        return session
    }

    @Test func theNewerGenerationStaysWhicheverRegistersFirst() {
        let registry = SessionRegistry(capacity: 10)
        registry.expect(id)
        registry.expect(id)
        let newer = connection(registry, generation: 8)
        let older = connection(registry, generation: 4)
        #expect(registry.register(newer) == nil)
        // The older one arrives last (its generation came first): it closes, not the newer.
        #expect(registry.register(older) === older)
        #expect(registry.session(for: id) === newer)
        let newest = connection(registry, generation: 9)
        registry.expect(id)
        #expect(registry.register(newest) === newer)
        #expect(registry.session(for: id) === newest)
    }

    /// The race that left no connection at all: a connection replaced here while its generation
    /// (the newest) was on its way, and an announcement from another process in between.
    @Test func anAnnouncementClosesOnlyOlderConnectionsAndIsKeptForExpectedOnes() {
        let registry = SessionRegistry(capacity: 10)
        registry.expect(id)
        registry.expect(id)
        let early = connection(registry, generation: 4)
        #expect(registry.register(early) == nil)
        // Another process registered generation 6: the connection here with 4 is older.
        #expect(registry.announced(id, generation: 6) === early)
        // A connection still taking its generation hears of it when it registers.
        let late = connection(registry, generation: 5)
        #expect(registry.register(late) === late)
        // A newer one than announced stays; the announcement does not touch it.
        registry.expect(id)
        let newest = connection(registry, generation: 8)
        #expect(registry.register(newest) === early)
        #expect(registry.announced(id, generation: 7) == nil)
        #expect(registry.session(for: id) === newest)
    }

    @Test func announcementsForSessionsNotHereAreNotKept() {
        let registry = SessionRegistry(capacity: 10)
        #expect(registry.announced(id, generation: 50) == nil)
        registry.expect(id)
        let later = connection(registry, generation: 7)
        #expect(registry.register(later) == nil, "an announcement made while nothing of the id was here is forgotten")
        // Once the last connection of the id is gone, what was announced for it is forgotten too.
        #expect(registry.announced(id, generation: 9) === later)
        #expect(registry.unregister(later))
        registry.expect(id)
        let reconnected = connection(registry, generation: 8)
        #expect(registry.register(reconnected) == nil)
    }

    /// Releasing the presence of a connection that closes while another one of its id is taking
    /// its generation would delete that one's claim: no sibling would then hear of later ones.
    @Test func anIdIsGoneOnlyWhenNothingOfItIsRegisteredOrExpected() {
        let registry = SessionRegistry(capacity: 10)
        let first = connection(registry, generation: 5)
        #expect(registry.register(first) == nil)
        registry.expect(id)
        #expect(registry.unregister(first) == false, "a connection of the id is taking its generation")
        let second = connection(registry, generation: 7)
        #expect(registry.register(second) == nil)
        #expect(registry.unregister(second))
    }

    @Test func withoutGenerationsTheLaterArrivalIsNewer() {
        let registry = SessionRegistry(capacity: 10)
        let first = connection(registry, generation: nil)
        let second = connection(registry, generation: nil)
        #expect(registry.register(first) == nil)
        #expect(registry.register(second) === first)
        #expect(registry.session(for: id) === second)
    }
}
