import Foundation
import Logging
import ProcessLifecycle
import RMBProtocol
import RMBTestSupport
import Redundancy
import Store
import Synchronization
import Testing
import TwinDirectory
@testable import RMBEngine
@testable import RMBPeer

/// The postman on its own, with no relay connected: what it does with entries it cannot send.
struct PostmanTests {
    /// Collects what the postman reports to local callers.
    final class RecordingDelivery: LocalDelivery {
        private let reports = Mutex<[(replyTo: String, response: ClientResponse)]>([])
        /// Called at each report, before it is recorded.
        private let onReport: @Sendable () -> Void
        var reported: [(replyTo: String, response: ClientResponse)] { reports.withLock { $0 } }
        init(onReport: @escaping @Sendable () -> Void = {}) { self.onReport = onReport }
        var callersLiveInProcess: Bool { false }
        func deliver(_ messages: [LocalMessage]) async -> [LocalHandOver] { messages.map { _ in .handed } }
        func report(_ replies: [(replyTo: String, response: ClientResponse)]) async throws {
            onReport()
            reports.withLock { $0 += replies }
        }
    }

    /// A request to twin 7 as the pipeline hands it over: due a minute after `now`.
    static func handedOverRequest(_ seq: UInt64, uid: String? = nil, bytes: Int = 1, now: StoreTime = .now) -> OutboxEntry {
        OutboxEntry(seq: seq, draft: OutboxDraft(uid: uid ?? "e\(seq)", destination: 7, kind: .request, payload: [UInt8](repeating: 1, count: bytes),
                                                 deadline: now.adding(milliseconds: 60_000)), enqueuedAt: now)
    }

    /// A store whose outbox holds request "late" (reply list "ret-late"), expired a second ago on
    /// the returned wall clock.
    private func storeWithExpiredRequest(durable: Bool) async throws -> (Store, ResenderTests.ManualWallClock, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rmb-postman-\(UUID().uuidString)").path
        let wall = ResenderTests.ManualWallClock(StoreTime.now)
        let store = try Store.open(path: path, durable: durable, now: { wall.now })
        let deadline = wall.now.adding(milliseconds: 1_000)
        _ = try await store.commit([
            .putBacklog(BacklogEntry(uid: "late", reference: "ref-late", replyTo: "ret-late", destinations: [7], deadline: deadline)),
            .enqueue(OutboxDraft(uid: "late", destination: 7, kind: .request, payload: Array("signed".utf8), deadline: deadline,
                                 notBefore: wall.now)),
        ])
        wall.advance(milliseconds: 2_000)
        return (store, wall, path)
    }

    @Test("a request that expired in the outbox is dropped and reported by the postman, not left to the sweep")
    func expiredEntryIsDroppedAndReported() async throws {
        let (store, _, path) = try await storeWithExpiredRequest(durable: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let reports = RecordingDelivery()
        let logger = Logger(label: "test.postman")
        // A relay that is never started: nothing can be sent.
        let relays = RelayPool(relays: [try RelayAddress(host: "127.0.0.1", port: 9, isSecure: false)], peer: RMBAddress(twin: 1),
                               logger: logger) { "token" }
        let postman = Postman(store: store, relays: relays, doorbell: Doorbell(),
                              undeliverable: UndeliverableReporter(store: store, local: reports, logger: logger),
                              metrics: PeerMetrics(), logger: logger)
        let running = Task { await postman.run() }
        let dropped = await eventually(timeout: .seconds(10)) { (try? store.outbox.count()) == 0 && reports.reported.count == 1 }
        running.cancel()
        await running.value
        #expect(dropped, "outbox \(String(describing: try? store.outbox.count())), reports \(reports.reported.count)")
        #expect(reports.reported.first?.replyTo == "ret-late")
        #expect(reports.reported.first?.response.reference == "ref-late")
        #expect(reports.reported.first?.response.error?.code == ProtocolError.expired.code)
    }

    /// Entries handed over at apply time go out from memory; the outbox must still be read while
    /// they keep coming, or a retry (here: an expired entry to report) waits behind all of them.
    @Test("a steady stream of handed-over entries does not keep the postman from the outbox")
    func handedOverEntriesDoNotStarveTheOutbox() async throws {
        let (store, wall, path) = try await storeWithExpiredRequest(durable: false)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let progress = Postman.Progress(handOffLimit: (200_000, 1 << 30))
        // Far more than the postman takes in a round (256): without turns, hundreds of rounds
        // would go by before the outbox is read.
        let handedOver = (0..<100_000).map { index in
            Self.handedOverRequest(1_000_000 + UInt64(index), uid: "fresh-\(index)", now: wall.now)
        }
        progress.handOff(handedOver)
        let leftAtReport = Mutex<Int?>(nil)
        let reports = RecordingDelivery { leftAtReport.withLock { $0 = $0 ?? progress.handedOverCount } }
        let logger = Logger(label: "test.postman")
        let relays = RelayPool(relays: [try RelayAddress(host: "127.0.0.1", port: 9, isSecure: false)], peer: RMBAddress(twin: 1),
                               logger: logger) { "token" }
        let postman = Postman(store: store, relays: relays, doorbell: Doorbell(),
                              undeliverable: UndeliverableReporter(store: store, local: reports, logger: logger),
                              metrics: PeerMetrics(), logger: logger, progress: progress)
        let running = Task { await postman.run() }
        let reported = await eventually(timeout: .seconds(30)) { reports.reported.count == 1 }
        running.cancel()
        await running.value
        #expect(reported)
        let left = leftAtReport.withLock { $0 } ?? 0
        #expect(left > 90_000, "the expired entry was reported with only \(left) handed-over entries left")
    }

    /// While the relays are down work keeps coming: what is handed over in memory has a bound,
    /// past which entries wait in the outbox only (and stay out of `confirming`, so a read takes them).
    @Test("the hand-off holds at most its limit of entries and bytes; the rest is left to the outbox")
    func theHandOffIsBounded() {
        func entry(_ seq: UInt64, bytes: Int) -> OutboxEntry { Self.handedOverRequest(seq, bytes: bytes) }
        let byCount = Postman.Progress(handOffLimit: (entries: 2, bytes: 1 << 20))
        byCount.handOff([entry(1, bytes: 10), entry(2, bytes: 10), entry(3, bytes: 10)])
        #expect(byCount.handedOverCount == 2)
        #expect(byCount.confirming.snapshot() == [1, 2])
        #expect(byCount.takeHandedOver(limit: 10).map(\.seq) == [1, 2])
        byCount.handOff([entry(4, bytes: 10)])
        #expect(byCount.handedOverCount == 1, "room again once taken")

        let byBytes = Postman.Progress(handOffLimit: (entries: 100, bytes: 250))
        byBytes.handOff([entry(1, bytes: 100), entry(2, bytes: 100), entry(3, bytes: 100)])
        #expect(byBytes.handedOverCount == 2)
        #expect(!byBytes.confirming.snapshot().contains(3))

        // Claimed before their write was queued: those past the limit are let go, to the outbox.
        let claimed = Postman.Progress(handOffLimit: (entries: 1, bytes: 1 << 20))
        claimed.claim([7, 8])
        #expect(claimed.confirming.snapshot() == [7, 8], "kept out of outbox reads while the write is queued")
        claimed.handOff([entry(7, bytes: 10), entry(8, bytes: 10)], claimed: true)
        #expect(claimed.takeHandedOver(limit: 10).map(\.seq) == [7])
        #expect(claimed.confirming.snapshot() == [7], "the one past the limit is left to the outbox read")
    }

    /// A backlog while no relay is up fails batch after batch: the log gets a line per interval
    /// with the count, not a line per batch (CI once printed hundreds in one second).
    @Test("batches that cannot be sent log one warning per interval, with how many failed")
    func unsentBatchesLogOneWarningPerInterval() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rmb-postman-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try Store.open(path: path, durable: false)
        let progress = Postman.Progress(handOffLimit: (10_000, 1 << 30))
        func handOff(_ range: Range<Int>) {
            progress.handOff(range.map { Self.handedOverRequest(UInt64($0)) })
        }
        // Eight batches of 256.
        handOff(0..<2048)
        let logs = CapturedLogs()
        let clock = ManualClock()
        let metrics = PeerMetrics()
        let relays = RelayPool(relays: [try RelayAddress(host: "127.0.0.1", port: 9, isSecure: false)], peer: RMBAddress(twin: 1),
                               logger: Logger(label: "test.postman.relays")) { "token" }
        let doorbell = Doorbell()
        let postman = Postman(store: store, relays: relays, doorbell: doorbell,
                              undeliverable: UndeliverableReporter(store: store, local: RecordingDelivery(), logger: logs.logger()),
                              metrics: metrics, logger: logs.logger(), logThrottle: LogThrottle(stopwatch: Stopwatch(clock)), progress: progress)
        let running = Task { await postman.run() }
        defer { running.cancel() }
        let warnings = { logs.all.filter { $0.contains("batch not confirmed") } }
        #expect(await eventually(timeout: .seconds(30)) { progress.handedOverCount == 0 && progress.isSettled })
        #expect(warnings().count == 1, "\(warnings())")
        #expect(warnings().first?.contains("batches=1") == true, "the first failure is logged at once: \(warnings())")

        // An interval later, the next failure logs the ones left out meanwhile with it.
        clock.advance(by: .seconds(10))
        handOff(2048..<2304)
        doorbell.ring()
        #expect(await eventually(timeout: .seconds(30)) { warnings().count == 2 })
        #expect(warnings().last?.contains("batches=8") == true, "seven left out, and this one: \(warnings())")
        running.cancel()
        await running.value
        await store.close()
    }
}
