import Foundation
import Logging
import RMBProtocol
import RMBTestSupport
import Testing
@testable import RMBEngine
@testable import Store

/// A direct peer's pipeline defers its writes: nothing on a call's path waits for them, so a
/// batch is handed to the postman at once and its write waits for company (the store's defer
/// limit) instead of starting a commit, and an fsync, of its own. rmb-peer's pipeline, whose
/// intake waits for each commit, commits at once. The writer runs on a manual clock.
@Suite(.timeLimit(.minutes(1)))
struct DeferredLocalCommitTests {
    @Test("a deferring pipeline hands its batch over at once, and its write commits at the defer limit, not before",
          arguments: [true, false])
    func theWriteWaitsForCompanyOnlyWhenDeferring(defers: Bool) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rmb-deferred-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let clock = ManualClock()
        let store = try Store.open(path: path, mapSize: 16 << 20, deferLimit: .milliseconds(20), metaSyncDelay: .zero, clock: clock)
        let pair = try PeerCoreTests.pair(e2e: true)
        let postman = Postman.Progress()
        let pipeline = OutgoingPipeline(factory: pair.alphaFactory, store: store, postman: postman, doorbell: Doorbell(),
                                        unsettled: UnsettledRequests(), logger: Logger(label: "test.pipeline"), defersCommits: defers)
        // The writer has flushed what opening the store wrote and sleeps with nothing pending.
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(1)) { store.committer.isIdle })
        let before = try store.stats().commits

        var prepared = OutgoingPipeline.Prepared()
        let uid = "deferred-\(defers)"
        await pipeline.prepare(request: ClientRequest(reference: "ref", command: "echo.ping", expiration: 60, data: Array("hi".utf8),
                                                      destinations: [7], replyTo: "ret"), uid: uid, into: &prepared)
        let queued = pipeline.queue(prepared)
        #expect(postman.takeHandedOver(limit: 10).map(\.uid) == [uid], "handed over before any commit")
        if defers {
            #expect(await clock.waitForSleepers(1))
            clock.advance(by: .milliseconds(19))
            #expect(await clock.waitForSleepers(1))
            #expect(try store.stats().commits == before, "committed before the defer limit, with no company")
            clock.advance(by: .milliseconds(1))
        }
        // Without deferring, the clock never moves: the write commits on its own.
        #expect(await queued.outcome().isEmpty)
        #expect(try store.stats().commits == before + 1)
        #expect(try store.backlog.get(uid: uid) != nil)
        await store.close()
    }
}
