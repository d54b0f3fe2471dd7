import Foundation
import Logging
import RMBTestSupport
import RMBProtocol
import RedisClient
import Store
import Testing
@testable import RMBEngine
@testable import RMBPeer

/// The local intake in process: a real Redis and a real store.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct LocalIntakeTests {
    /// A request the peer took but died before stamping its uid is recovered after a restart;
    /// if the peer dies again after storing it and before clearing the processing list (here:
    /// LREM is disabled, so the clean-up never happens), the next recovery must recognise it
    /// by the uid stamped during the first recovery, not store and send it again.
    @Test("a request recovered without a uid is stamped, so a second recovery does not send it twice")
    func recoveryStampsUnstampedRequests() async throws {
        let fixture = try EngineFixture("intake", redisOptions: ["--rename-command", "LREM", "\"\""])
        defer { fixture.tearDown() }
        let (store, client, pair) = (fixture.store, fixture.client, fixture.pair)
        let pipeline = OutgoingPipeline(factory: pair.devFactory, store: store, postman: Postman.Progress(), doorbell: Doorbell(), unsettled: UnsettledRequests(),
                                        logger: Logger(label: "test.intake"))
        let processing = RedisKeys.processing(RedisKeys.local)
        let request = BusClient.requestJSON(ref: "taken", cmd: "echo.ping", dst: [41], ret: "ret-intake")
        _ = try await client.send(["LPUSH", .string(processing), .string(request)])

        for run in 1...2 {
            let intake = LocalIntake(queue: RedisKeys.local, redis: client, pipeline: pipeline, store: store,
                                     metrics: PeerMetrics(), logger: Logger(label: "test.intake"))
            let running = Task { await intake.run() }
            // Recovery stores the request; its clean-up fails (no LREM), as if the peer died
            // before it. A failed recovery is retried every second: give it two more tries.
            let deadline = ContinuousClock.now + .seconds(10)
            while try store.backlog.count() == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            try await Task.sleep(for: .milliseconds(2_500))
            running.cancel()
            await running.value
            #expect(try store.backlog.count() == 1, "run \(run)")
        }
        #expect(try store.outbox.count() == 1)
        let left = try await client.send(["LRANGE", .string(processing), 0, -1])
        let copy = try #require(left.array?.first?.bytes)
        #expect(UIDMarker.read(copy) != nil, "the processing copy carries its uid")
        await store.close()
    }

    /// The reply queue's intake does not wait for a batch's commit before it takes the next:
    /// three answers taken one by one (each pushed once the previous one was taken) are queued
    /// while the first one's deferred commit waits for company (up to 5 s here), so the three
    /// are stored in one commit. Their processing copies stay in Redis until that commit is
    /// durable, then go. Waiting for each commit, as the intake did, took 5 s per answer and
    /// three commits.
    @Test("answers taken one by one share one deferred commit, and leave the processing list once it is durable")
    func answersShareADeferredCommit() async throws {
        let fixture = try EngineFixture("intake-deferred", deferLimit: .seconds(5))
        defer { fixture.tearDown() }
        let (store, client, pair) = (fixture.store, fixture.client, fixture.pair)
        // The reply queue's intake puts the answers on deferred commits itself.
        let pipeline = OutgoingPipeline(factory: pair.devFactory, store: store, postman: Postman.Progress(), doorbell: Doorbell(),
                                        unsettled: UnsettledRequests(), logger: Logger(label: "test.intake"))
        let processing = RedisKeys.processing(RedisKeys.reply)
        let intake = LocalIntake(queue: RedisKeys.reply, redis: client, pipeline: pipeline, store: store,
                                 metrics: PeerMetrics(), logger: Logger(label: "test.intake"))
        let running = Task { await intake.run() }
        let commitsBefore = try store.stats().commits

        for index in 0..<3 {
            let answer = ServiceResponse(reference: "uid-\(index)", data: Array("answer \(index)".utf8), destination: "41")
            _ = try await client.send(["LPUSH", .string(RedisKeys.reply), .bytes(answer.jsonBytes())])
            let taken = try await eventually(timeout: .seconds(4), every: .milliseconds(5)) {
                try await client.send(["LLEN", .string(RedisKeys.reply)]).integer == 0
            }
            #expect(taken, "answer \(index) was taken without waiting for the commit of the one before")
        }
        #expect(try store.stats().commits == commitsBefore, "the first answer's commit still waits for company")
        #expect(try await client.send(["LLEN", .string(processing)]).integer == 3, "kept in Redis until durable")

        let cleaned = try await eventually(timeout: .seconds(20), every: .milliseconds(20)) {
            try await client.send(["LLEN", .string(processing)]).integer == 0
        }
        #expect(cleaned, "the processing copies go once the commit is durable")
        #expect(try store.stats().commits == commitsBefore + 1)
        #expect(try store.outbox.count() == 3)
        running.cancel()
        await running.value
        await store.close()
    }
}
