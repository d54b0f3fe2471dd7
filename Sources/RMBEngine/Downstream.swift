import Foundation
import Logging
import RMBProtocol
import Redundancy
import Store

/// Envelopes from the relays to local applications (peer.md §5; Redis for rmb-peer, handlers for a
/// direct peer: ``LocalDelivery``), with the fixes of known-gaps §1, §3,
/// §6, §7 and §15: validation, de-duplication in the store's inbox (so an envelope received via
/// two relays, or re-sent after a crash, reaches the application once), replies accepted only
/// from twins that were asked, command names validated. Envelopes are processed concurrently in
/// lanes keyed by sender, so a slow twin lookup stalls only its own sender and per-sender order
/// is kept. Each lane is a two-stage pipeline: its recorder validates a batch and records it in
/// the inbox, while the lane's pusher hands recorded batches to Redis in order (the recorder
/// waits when the pusher is `pushLag` batches behind); see `record(_:settleLater:handOff:)` for why a
/// new envelope's push need not wait for its record's fsync, nor have an fsync of its own.
struct Downstream: Sendable {
    let validator: IncomingValidator
    let factory: EnvelopeFactory
    let store: Store
    let local: any LocalDelivery
    /// Requests whose commit is in flight: a reply may come back before their backlog entry is readable.
    let unsettledRequests: UnsettledRequests
    let wakePostman: @Sendable () -> Void
    let metrics: PeerMetrics
    let logger: Logger
    var lanes = 8
    /// Reads a request's backlog entry (the store's, unless a test puts itself between).
    var readBacklog: (@Sendable (String) throws -> BacklogEntry?)? = nil

    /// Frames a lane may hold before the reader waits for it (and, through the pool's buffer,
    /// the relay connections stop reading): memory stays bounded under a burst.
    static let laneCapacity = 4096

    /// Recorded batches a lane's pusher may be behind its recorder (up to 512 envelopes each).
    /// With the lane and the pool's buffer this bounds what a stalled Redis leaves in memory:
    /// 10,000 + 8 × (4,096 + 8 × 512) envelopes, after which the relays are read no more.
    static let pushLag = 8

    /// Bytes each lane stage may hold (envelopes waiting for their recorder; recorded batches
    /// waiting for their pusher), whatever the count: big envelopes stop the flow sooner. With
    /// the pool's 64 MiB, what the downstream holds stays under 64 + 8 × 2 × 16 MiB.
    static let laneByteBudget = 16 << 20

    func run(_ frames: LaneBuffer<InboundFrame>) async {
        let buffers = (0..<lanes).map { _ in LaneBuffer<RMBEnvelope>(weigh: { $0.payloadBytes.count + 512 }) }
        let marks = LaneBuffer<InboxKey>()
        let unsettled = LaneBuffer<Unsettled>()
        await withDiscardingTaskGroup { outer in
            outer.addTask { await self.recordDeliveries(marks) }
            outer.addTask { await self.settleHandedOff(unsettled) }
            await withDiscardingTaskGroup { group in
                for buffer in buffers {
                    let stored = LaneBuffer<StoredBatch>(weigh: \.weight)
                    group.addTask {
                        while true {
                            let batch = await buffer.takeBatch(limit: 512)
                            if batch.isEmpty { break }
                            await self.record(batch, settleLater: unsettled) { await stored.append($0, waitingBelow: Self.pushLag, weightBelow: Self.laneByteBudget) }
                        }
                        await stored.finish()
                    }
                    group.addTask {
                        while true {
                            let works = await stored.takeBatch(limit: 64)
                            if works.isEmpty { return }
                            await self.push(works.flatMap(\.deliveries), alsoDelivered: works.flatMap(\.answered), marks: marks)
                        }
                    }
                }
                group.addTask { await self.redeliverPending(marks: marks) }
                while true {
                    let batch = await frames.takeBatch(limit: 512)
                    if batch.isEmpty { break }
                    for frame in batch {
                        let envelope: RMBEnvelope
                        switch frame.envelope {
                        case .success(let decoded): envelope = decoded
                        case .failure(let error):
                            metrics.envelopesRefused.increment()
                            logger.warning("dropping undecodable frame", metadata: ["relay": "\(frame.relay)", "error": "\(error)"])
                            continue
                        }
                        metrics.envelopesReceived.increment()
                        let source = envelope.hasSource ? envelope.source.twin : 0
                        await buffers[Int(source % UInt32(lanes))].append(envelope, waitingBelow: Self.laneCapacity,
                                                                          weightBelow: Self.laneByteBudget)
                    }
                }
                for buffer in buffers { await buffer.finish() }
                group.cancelAll()
            }
            // The lanes are done: record their last deliveries, look at their last records, then stop.
            await marks.finish()
            await unsettled.finish()
        }
    }

    /// Marks pushed envelopes delivered, many per commit, off the lanes' path: a lane goes on
    /// with its next batch while the mark is written. Losing a mark in a crash costs nothing
    /// but a second push attempt, which the delivery marker in Redis turns into a no-op.
    private func recordDeliveries(_ marks: LaneBuffer<InboxKey>) async {
        while true {
            let keys = await marks.takeBatch(limit: 4096)
            if keys.isEmpty { return }
            do {
                _ = try await store.commit(keys.map { .markDelivered($0) }, deferrable: true)
            } catch {
                logger.error("could not mark deliveries", metadata: ["error": "\(error)"])
            }
        }
    }

    /// A message for a local application and the form its inbox record keeps (Redis list +
    /// JSON), so a hand-over that failed or was cut short by a crash can be made again.
    struct Delivery {
        let list: String
        let body: LocalMessage.Body
        /// Empty when nothing needs it (see ``init(list:body:deadline:withJSON:)``).
        let json: [UInt8]
        /// When the envelope expires; bounds the delivery marker's lifetime.
        var deadline = StoreTime(millis: 0)

        /// The inbox record's payload; empty without JSON (a re-delivery then only marks the
        /// record delivered).
        var encoded: [UInt8] {
            guard !json.isEmpty else { return [] }
            let name = Array(list.utf8)
            return [UInt8(truncatingIfNeeded: name.count >> 8), UInt8(truncatingIfNeeded: name.count)] + name + json
        }

        /// `withJSON: false` for a reply to a caller in this process whose front-end takes the
        /// typed body (a direct peer's): the caller does not outlive a crash, so neither a push
        /// nor a re-delivery will ever read the JSON.
        init(list: String, body: LocalMessage.Body, deadline: StoreTime, withJSON: Bool = true) {
            self.list = list; self.body = body; self.json = withJSON ? body.jsonBytes : []; self.deadline = deadline
        }

        /// A stored record's list name and the offset of its JSON; throws when the record is
        /// too short. Read before the body, which need not be parsed for a list that is full.
        static func list(ofEncoded encoded: [UInt8]) throws(JSONMessageError) -> (list: String, jsonStart: Int) {
            guard encoded.count >= 2 else { throw JSONMessageError("inbox record too short") }
            let length = Int(encoded[0]) << 8 | Int(encoded[1])
            guard encoded.count >= 2 + length else { throw JSONMessageError("inbox record shorter than its list name") }
            return (String(decoding: encoded[2..<(2 + length)], as: UTF8.self), 2 + length)
        }

        /// A stored delivery whose list name ``list(ofEncoded:)`` read; throws when its JSON
        /// cannot be read.
        init(list: String, encoded: [UInt8], jsonStart: Int, isRequest: Bool) throws(JSONMessageError) {
            self.list = list
            json = Array(encoded[jsonStart...])
            body = try LocalMessage.Body(json: json, isRequest: isRequest)
        }
    }

    /// What one validated envelope asks for.
    private enum Action: Sendable {
        case deliver(InboxKey, StoreTime, Delivery)
        case answer(InboxKey, StoreTime, OutgoingMessage)

        var key: InboxKey {
            switch self {
            case .deliver(let key, _, _), .answer(let key, _, _): key
            }
        }
    }

    /// A lane's batch once in the inbox: what its pusher hands to Redis, in order.
    struct StoredBatch: Sendable {
        var deliveries: [(InboxKey, Delivery)] = []
        /// Requests answered by a plugin: nothing to push, only to mark delivered.
        var answered: [InboxKey] = []

        /// Bytes held: the JSON to push and the message it spells (payload bytes ≈ ¾ of it).
        var weight: Int { deliveries.reduce(0) { $0 + $1.1.json.count * 2 + 64 } }
    }

    /// A lane's batch whose deliveries were handed off before its inbox record was committed:
    /// the commit's outcome is looked at later (``settleHandedOff(_:)``).
    private struct Unsettled: Sendable {
        let actions: [Action]
        let recordIndex: [Int]
        let pending: PendingCommit
    }

    /// One lane's batch, in order: validate each envelope and record all of them in the inbox in
    /// one commit; what is new goes to `handOff`, for the lane's pusher (one pipeline per round,
    /// then one commit marks them delivered).
    ///
    /// Envelopes the inbox has never seen (the usual case) are handed off as soon as their
    /// record is queued, and the record is a deferrable write: it rides with the next commit
    /// anyone makes (on a responder, the reply's; on a requester, the next request's) or goes
    /// alone after 20 ms, so a received envelope costs neither a wait for an fsync nor an fsync
    /// of its own, and never delays the reply's commit behind its own. Safe because the record
    /// is queued first (the delivery mark, submitted after the push, is applied after it), the
    /// push is idempotent (its Redis delivery marker lives as long as the envelope), and the
    /// sender sends again what a crash may have cost: a copy that arrives after a crash between
    /// push and commit is recorded then, and its push is a no-op. The lane does not wait for
    /// that commit: its outcome goes to `settleLater`. A batch holding a copy of something
    /// already recorded, or a plugin's answer, waits for its commit, whose outcome decides what
    /// to push.
    private func record(_ batch: [RMBEnvelope], settleLater: LaneBuffer<Unsettled>, handOff: (StoredBatch) async -> Void) async {
        var actions: [Action] = []
        for (envelope, validation) in zip(batch, await validator.validate(batch)) {
            if let action = await action(for: envelope, validation) { actions.append(action) }
        }
        guard !actions.isEmpty else { return }
        // One inbox record per action; a reply also ends the wait for it (the kept request is
        // no longer re-sent), in the same transaction.
        var operations: [StoreOperation] = []
        var recordIndex: [Int] = []
        for action in actions {
            recordIndex.append(operations.count)
            switch action {
            case .deliver(let key, let deadline, let delivery):
                operations.append(.recordInbox(InboxDraft(key: key, deadline: deadline, payload: delivery.encoded)))
                if key.kind != .request, key.source != 0 {
                    operations.append(.removeAwaiting(AwaitingKey(uid: key.uid, destination: key.source)))
                }
            case .answer(let key, let deadline, let reply):
                // The answer is stored with the request's record (one transaction).
                let record = InboxDraft(key: key, deadline: deadline, payload: [])
                if let draft = await outboxDraft(reply) {
                    operations.append(.answerInbox(record, reply: draft))
                } else {
                    operations.append(.recordInbox(record))
                }
            }
        }
        if let early = unseenDeliveries(actions) {
            let pending = store.enqueue(operations, deferrable: true)
            await handOff(early)
            await settleLater.append(Unsettled(actions: actions, recordIndex: recordIndex, pending: pending), waitingBelow: 64)
            return
        }
        let stored = await settle(actions, recordIndex: recordIndex, store.enqueue(operations), handedOff: false)
        if !stored.deliveries.isEmpty || !stored.answered.isEmpty { await handOff(stored) }
    }

    /// Looks at the outcomes of the records of batches already handed off, in order.
    private func settleHandedOff(_ unsettled: LaneBuffer<Unsettled>) async {
        while true {
            let batches = await unsettled.takeBatch(limit: 64)
            if batches.isEmpty { return }
            for batch in batches {
                _ = await settle(batch.actions, recordIndex: batch.recordIndex, batch.pending, handedOff: true)
            }
        }
    }

    /// Acts on a batch's inbox commit: counts duplicates, re-sends the stored reply to a repeated
    /// request, and returns what is still to be pushed (nothing when the batch was `handedOff`).
    private func settle(_ actions: [Action], recordIndex: [Int], _ pending: PendingCommit, handedOff: Bool) async -> StoredBatch {
        let results: [StoreOperationResult]
        do {
            results = try await pending.results()
        } catch {
            let outcome = handedOff ? "a batch was pushed without its record" : "dropping a batch"
            logger.error("inbox unavailable; \(outcome)", metadata: ["count": "\(actions.count)", "error": "\(error)"])
            return StoredBatch()
        }
        var stored = StoredBatch()
        var resends: [OutboxDraft] = []
        for (action, index) in zip(actions, recordIndex) {
            let outcome = results[index]
            switch outcome {
            case .inbox(.new):
                guard !handedOff else { continue }
                switch action {
                case .deliver(let key, _, let delivery): stored.deliveries.append((key, delivery))
                case .answer(let key, _, _): stored.answered.append(key)
                }
            case .inbox(.answered(let reply)):
                metrics.duplicatesDropped.increment()
                // The requester lost our reply (it re-sent the request): the same signed reply again.
                let key = action.key
                resends.append(OutboxDraft(uid: key.uid, destination: key.source, kind: reply.kind, payload: reply.envelope, deadline: reply.deadline))
            default:
                // A copy handed off early (it raced another copy) was pushed once: the marker.
                metrics.duplicatesDropped.increment()
                logger.debug("dropping duplicate", metadata: ["outcome": "\(outcome)"])
            }
        }
        if !stored.answered.isEmpty { wakePostman() }
        if !resends.isEmpty {
            do {
                _ = try await store.commit(resends.map { .enqueue($0) })
                metrics.repliesResent.increment(by: resends.count)
                metrics.extraCopies(.repeatedRequest).increment(by: resends.count)
                logger.info("re-sending stored replies to repeated requests", metadata: ["count": "\(resends.count)"])
                wakePostman()
            } catch {
                logger.warning("could not queue stored replies", metadata: ["count": "\(resends.count)", "error": "\(error)"])
            }
        }
        return stored
    }

    /// The batch's deliveries when every action is a delivery the inbox does not hold yet (they
    /// may go to Redis before their record is durable); nil otherwise.
    private func unseenDeliveries(_ actions: [Action]) -> StoredBatch? {
        var deliveries: [(InboxKey, Delivery)] = []
        for action in actions {
            guard case let .deliver(key, _, delivery) = action else { return nil }
            deliveries.append((key, delivery))
        }
        guard let seen = try? store.inbox.containsAny(deliveries.map(\.0)), !seen else { return nil }
        return StoredBatch(deliveries: deliveries)
    }

    /// Dispatch of one envelope after its validation (envelope.md §5); nil when it is dropped.
    private func action(for envelope: RMBEnvelope, _ validation: Result<ValidatedEnvelope, IncomingRejection>) async -> Action? {
        let validated: ValidatedEnvelope
        do {
            validated = try validation.get()
        } catch {
            metrics.envelopesRefused.increment()
            logger.warning("refusing incoming envelope", metadata: ["uid": "\(envelope.uid)", "source": "\(envelope.hasSource ? envelope.source.text : "0")", "error": "\(error)"])
            if error.replyable { await sendError(error.error, to: envelope, expiration: envelope.expiration) }
            return nil
        }
        let key = inboxKey(envelope)
        let deadline = StoreTime(seconds: envelope.timestamp &+ envelope.expiration)
        switch envelope.message {
        case .request(let request)?:
            let command = request.command
            if command.hasPrefix(VersionPlugin.name + ".") {
                if command == VersionPlugin.versionCommand { return .answer(key, deadline, VersionPlugin.reply(to: validated)) }
                let error = ProtocolError.other("unknown command '\(command)' of plugin 'rmb'")
                return .answer(key, deadline, errorReply(error, to: envelope, expiration: 300))
            }
            if let problem = CommandName.problem(with: command) {
                await sendError(.other("invalid command: \(problem)"), to: envelope, expiration: 300)
                return nil
            }
            return .deliver(key, deadline, Delivery(list: RedisKeys.command(command),
                                                    body: .request(ServiceRequest(validated: validated, command: command)), deadline: deadline))
        default:
            var backlog: BacklogEntry?
            do {
                backlog = try backlogEntry(envelope.uid)
                // Sent while its commit was still in flight (see OutgoingPipeline): for a caller
                // in this process take its entry from memory (a crash that forgets the request
                // takes the caller along; the reply's record is queued after the request's write,
                // so applied after it); for one that outlives us, wait for the commit.
                if backlog == nil {
                    if local.callersLiveInProcess, let settling = unsettledRequests.entry(envelope.uid) {
                        backlog = settling
                    } else {
                        // Read again even when nothing is in flight any more: the commit may
                        // have ended between the read above and this look (the reply was then
                        // dropped, and its request answered only at its re-send).
                        _ = await unsettledRequests.waitIfUnsettled(envelope.uid)
                        backlog = try backlogEntry(envelope.uid)
                    }
                }
            } catch {
                logger.error("backlog unavailable", metadata: ["error": "\(error)"])
                return nil
            }
            guard let backlog else {
                logger.debug("dropping reply without a live request", metadata: ["uid": "\(envelope.uid)", "kind": "\(envelope.messageKind)"])
                return nil
            }
            if let sender = validated.sender, !backlog.expects(replyFrom: sender.id) {
                logger.warning("refusing reply from a twin that was not asked", metadata: ["uid": "\(envelope.uid)", "source": "\(sender.id)"])
                return nil
            }
            guard let response = ClientResponse(validated: validated, reference: backlog.reference) else {
                logger.debug("dropping reply without a message", metadata: ["uid": "\(envelope.uid)", "kind": "\(envelope.messageKind)"])
                return nil
            }
            return .deliver(key, deadline, Delivery(list: backlog.replyTo, body: .reply(response), deadline: deadline,
                                                    withJSON: local.handsOverJSON || !local.callersLiveInProcess))
        }
    }

    private func backlogEntry(_ uid: String) throws -> BacklogEntry? {
        if let readBacklog { return try readBacklog(uid) }
        return try store.backlog.get(uid: uid)
    }

    private func inboxKey(_ envelope: RMBEnvelope) -> InboxKey {
        InboxKey(source: envelope.hasSource ? envelope.source.twin : 0, uid: envelope.uid, kind: EnvelopeKind(envelope))
    }

    /// Hands each delivery to the front-end (at most once per key, in order); then they (and
    /// `alsoDelivered`) go to `marks`, to be marked delivered. A failed hand-over, or one to a
    /// full queue, stays pending in the store and is retried (``redeliverPending(settle:marks:)``).
    /// Returns the lists found full.
    @discardableResult
    private func push(_ deliveries: [(InboxKey, Delivery)], alsoDelivered: [InboxKey] = [], marks: LaneBuffer<InboxKey>) async -> Set<String> {
        var delivered = alsoDelivered
        var pushed = 0
        var full: Set<String> = []
        var putOff = 0
        var failures = 0
        var lastFailure: (list: String, error: String)?
        if !deliveries.isEmpty {
            let now = store.now()
            let messages = deliveries.map { key, delivery in
                LocalMessage(list: delivery.list, body: delivery.body, json: delivery.json, key: key.description,
                             ttlSeconds: max(1, min(3600, Int64(delivery.deadline.seconds) - Int64(now.seconds) + 60)))
            }
            let outcomes = await local.deliver(messages)
            for (index, (key, delivery)) in deliveries.enumerated() {
                switch index < outcomes.count ? outcomes[index] : .failed("no outcome") {
                case .handed:
                    delivered.append(key)
                    pushed += 1
                case .alreadyHanded:
                    delivered.append(key)
                case .accepted:
                    break   // pending until its answer is stored (see LocalHandOver.accepted)
                case .failed(let error):
                    failures += 1
                    lastFailure = (delivery.list, error)
                case .queueFull:
                    full.insert(delivery.list)
                    putOff += 1
                }
            }
        }
        // One line per round, not per message: a Redis outage or a stuck consumer must not flood the log.
        if let lastFailure {
            logger.warning("local push failed; will retry", metadata: ["count": "\(failures)", "list": "\(lastFailure.list)", "error": "\(lastFailure.error)"])
        }
        if !full.isEmpty {
            metrics.queueFull.increment(by: putOff)
            logger.warning("local queue full (its consumer is behind): kept in the store, handed over when there is room",
                           metadata: ["lists": "\(full.sorted().prefix(5).joined(separator: ", "))", "count": "\(putOff)"])
        }
        guard !delivered.isEmpty else { return full }
        metrics.delivered.increment(by: pushed)
        await marks.append(contentsOf: delivered)
        return full
    }

    /// Retries deliveries that were stored but not pushed (Redis down, a full queue, or a crash
    /// in between). Entries younger than `settle` are left alone: a lane is still pushing them.
    /// A pass pages through the pending entries in arrival order (up to `pagesPerSecond` pages of
    /// 1,000 a second), skipping lists found full earlier in the pass; then it waits a second.
    private func redeliverPending(settle: UInt64 = 5_000, pagesPerSecond: Int = 10, marks: LaneBuffer<InboxKey>) async {
        let startedAt = store.now()
        var cursor: UInt64 = 0
        var fullThisPass: Set<String> = []
        var pages = 0
        while !Task.isCancelled {
            var endOfPass = true
            do {
                let now = store.now()
                var deliveries: [(InboxKey, Delivery)] = []
                var empty: [InboxKey] = []
                let page = try store.inbox.pending(after: cursor, limit: 1000)
                // Entries from before this run are left over from a crash: retry them at once.
                for pending in page where pending.receivedAt < startedAt || now.millis &- pending.receivedAt.millis > settle {
                    // Nothing to hand over: answered in process (the `rmb` plugin).
                    guard !pending.payload.isEmpty else {
                        empty.append(pending.key)
                        continue
                    }
                    do {
                        // A list found full this pass is skipped before its records are parsed.
                        let (list, jsonStart) = try Delivery.list(ofEncoded: pending.payload)
                        guard !fullThisPass.contains(list) else { continue }
                        var delivery = try Delivery(list: list, encoded: pending.payload, jsonStart: jsonStart,
                                                    isRequest: pending.key.kind == .request)
                        delivery.deadline = pending.deadline
                        deliveries.append((pending.key, delivery))
                    } catch {
                        // Written by this code, so never expected; not retried for ever.
                        logger.error("dropping an unreadable inbox record", metadata: ["key": "\(pending.key)", "error": "\(error)"])
                        empty.append(pending.key)
                    }
                }
                if !deliveries.isEmpty { logger.debug("re-delivering stored envelopes", metadata: ["count": "\(deliveries.count)"]) }
                fullThisPass.formUnion(await push(deliveries, alsoDelivered: empty, marks: marks))
                if page.count == 1000, let last = page.last {
                    cursor = last.pendingSeq
                    endOfPass = false
                }
            } catch {
                logger.error("inbox scan failed", metadata: ["error": "\(error)"])
            }
            pages += 1
            if endOfPass {
                cursor = 0
                fullThisPass = []
            }
            if endOfPass || pages >= pagesPerSecond {
                pages = 0
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// `message` signed (and encrypted) as an outbox entry; nil (logged) when it cannot be made.
    private func outboxDraft(_ message: OutgoingMessage) async -> OutboxDraft? {
        do {
            let envelope = try await factory.make(message)
            return OutboxDraft(uid: envelope.uid, destination: message.destination.twin, kind: EnvelopeKind(envelope),
                               payload: try envelope.wireBytes(), deadline: StoreTime(seconds: envelope.timestamp + envelope.expiration))
        } catch {
            logger.warning("could not make a reply", metadata: ["uid": "\(message.uid)", "error": "\(error)"])
            return nil
        }
    }

    /// Queues `message` in the outbox.
    private func send(_ message: OutgoingMessage) async {
        guard let draft = await outboxDraft(message) else { return }
        do {
            _ = try await store.commit([.enqueue(draft)])
            wakePostman()
        } catch {
            logger.warning("could not queue a reply", metadata: ["uid": "\(message.uid)", "error": "\(error)"])
        }
    }

    /// Signed error reply to the source of a failed request (envelope.md §7).
    private func sendError(_ error: ProtocolError, to request: RMBEnvelope, expiration: UInt64) async {
        guard request.hasSource, request.source.twin != 0 else { return }
        await send(errorReply(error, to: request, expiration: expiration))
    }

    private func errorReply(_ error: ProtocolError, to request: RMBEnvelope, expiration: UInt64) -> OutgoingMessage {
        OutgoingMessage(uid: request.uid, destination: request.source, kind: .error(code: error.code, message: error.description),
                        tags: request.hasTags ? request.tags : nil, expiration: max(expiration, 1))
    }
}
