import Foundation
import Logging
import RMBProtocol
import Store

/// Turns local JSON messages into signed envelopes in the outbox (peer.md §4.1, §4.4).
/// Where the reference stays silent (bad JSON with a readable `ret`, bad base64, expired
/// request), the client gets an error on `ret` (known-gaps §16).
///
/// A batch's envelopes go to the postman as soon as its write is queued, with outbox numbers
/// reserved for them, not once it is committed: neither the fsync (one per side, each a few
/// hundred microseconds and the largest part of a durable peer's latency) nor the wait for the
/// store's single writer (busy with the previous commit's fsync, which this disk now and then
/// stalls for tens of milliseconds) is on the round trip's path. The store's later writes about
/// them (confirmation, retry) are queued after, so applied after (but for a batch that fails and
/// is retried unit by unit, freeing units first: a confirmation applied before its entry leaves
/// the entry to be sent once more, and its receiver drops the copy). When the store is more than
/// half full they go only once the write is applied (a write refused for space must not have
/// been sent). What a crash before the commit is durable may cost, the protocol makes good: an
/// unrecorded request is taken from the local queue again after the restart (its uid is stable)
/// or its caller died with the process; an unrecorded answer leaves its request unrecorded too
/// (its inbox record rides with the answer's commit), so a re-sent request is handed over again
/// and answered again, and the requester drops a second answer. The caller still hears of the
/// batch only once it is durable.
package struct OutgoingPipeline: Sendable {
    let factory: EnvelopeFactory
    let store: Store
    /// Where a batch's outbox entries go once its write is queued (or, on a store more than half
    /// full, applied: then on the thread that writes, inside the transaction).
    let postman: Postman.Progress
    /// Rung after a hand-off.
    let doorbell: Doorbell
    /// Requests whose commit is in flight, for a reply that comes back before it is readable.
    let unsettled: UnsettledRequests
    let logger: Logger
    /// Whether a batch's write may wait for company (the store's defer limit) instead of
    /// starting a commit of its own, so that one commit (and fsync) covers every message of a
    /// few milliseconds: for writes nothing on a call's path waits for. A direct peer's calls
    /// and answers (their callers die with the process); rmb-peer's answers (they stay in
    /// Redis until durable). Not rmb-peer's requests: their replies wait for them.
    package var defersCommits = false

    /// What to tell the local client when a request cannot (fully) be sent.
    package struct Undeliverable: Sendable {
        package let replyTo: String
        package let response: ClientResponse
    }

    /// What a batch of local messages becomes: store operations (committed together, in order)
    /// and the errors to report to clients.
    package struct Prepared: Sendable {
        package init() {}
        var operations: [StoreOperation] = []
        var failures: [Undeliverable] = []
        /// `ret`/`ref` of every request in the batch, to report a failed commit.
        var requesters: [(replyTo: String, reference: String?)] = []
    }

    /// A client request: one envelope per destination, all with the same uid, plus the backlog.
    /// `uid` is stable across a crash (see ``LocalIntake``).
    package func prepare(request bytes: [UInt8], uid: String, into prepared: inout Prepared, now: UInt64 = unixNow()) async {
        let request: ClientRequest
        do {
            request = try ClientRequest.parse(bytes)
        } catch {
            logger.warning("dropping malformed request", metadata: ["error": "\(error)"])
            guard let (replyTo, reference) = Self.readableReply(bytes) else { return }
            prepared.failures.append(Undeliverable(replyTo: replyTo, response: .undeliverable(
                reference: reference, error: JSONError(code: 500, message: "other: invalid request: \(error)"))))
            return
        }
        await prepare(request: request, uid: uid, into: &prepared, now: now)
    }

    /// A request already parsed (a direct peer's call): as above.
    func prepare(request: ClientRequest, uid: String, into prepared: inout Prepared, now: UInt64 = unixNow()) async {
        let (operations, failures, requester) = await prepareRequest(request, uid: uid, now: now)
        prepared.operations += operations
        prepared.failures += failures
        if let requester { prepared.requesters.append(requester) }
    }

    private func prepareRequest(_ request: ClientRequest, uid: String, now: UInt64) async -> ([StoreOperation], [Undeliverable], (String, String?)?) {
        func fail(_ error: ProtocolError) -> Undeliverable {
            Undeliverable(replyTo: request.replyTo, response: .undeliverable(reference: request.reference, error: JSONError(code: error.code, message: error.description)))
        }
        guard request.expiration > 0 else { return ([], [fail(.expired)], nil) }
        guard !request.destinations.isEmpty else { return ([], [fail(.other("request has no destination"))], nil) }
        guard !request.command.isEmpty else { return ([], [fail(.other("request has no command"))], nil) }

        var failures: [Undeliverable] = []
        var drafts: [OutboxDraft] = []
        var reached: [UInt32] = []
        var deadline = StoreTime(seconds: now)
        for destination in Set(request.destinations).sorted() {
            let message = OutgoingMessage(uid: uid, destination: RMBAddress(twin: destination),
                                          kind: .request(command: request.command), payload: request.data,
                                          schema: request.schema, tags: request.tags, timestamp: request.now,
                                          expiration: Expiration.clamp(request.expiration))
            do {
                let envelope = try await factory.make(message, now: now)
                let envelopeDeadline = StoreTime(seconds: envelope.timestamp + envelope.expiration)
                deadline = max(deadline, envelopeDeadline)
                drafts.append(OutboxDraft(uid: uid, destination: destination, kind: .request,
                                          payload: try envelope.wireBytes(), deadline: envelopeDeadline))
                reached.append(destination)
            } catch {
                failures.append(fail(error))
            }
        }
        guard !drafts.isEmpty else { return ([], failures, nil) }
        let backlog = BacklogEntry(uid: uid, reference: request.reference, replyTo: request.replyTo,
                                   destinations: reached, deadline: deadline)
        return ([.putBacklog(backlog)] + drafts.map { .enqueue($0) }, failures, (request.replyTo, request.reference))
    }

    /// Commits a prepared batch in one transaction, handing its envelopes to the postman as soon
    /// as it is queued (or applied, on a store more than half full; see the type's comment), and
    /// returns once it is durable; if the store refuses it (full), every requester of the batch
    /// hears about it (nothing was sent then).
    package func commit(_ prepared: Prepared) async -> [Undeliverable] {
        await queue(prepared).outcome()
    }

    /// A batch whose write is queued: its place in the store's order is fixed (what is queued
    /// later is applied after it) and its envelopes are with the postman (or go at apply time).
    /// Its ``outcome()`` is awaited exactly once; until then its requests count as unsettled.
    package struct Queued: Sendable {
        fileprivate let pending: PendingCommit?
        fileprivate let prepared: Prepared
        fileprivate let requestUIDs: [String]
        fileprivate let unsettled: UnsettledRequests
        fileprivate let logger: Logger

        /// Once the write is durable: the batch's failures; if the store refused it (full, or
        /// closing), every requester of the batch as well (nothing was sent then).
        package func outcome() async -> [Undeliverable] {
            guard let pending else { return prepared.failures }
            defer { unsettled.end(requestUIDs) }
            do {
                _ = try await pending.results()
                return prepared.failures
            } catch {
                logger.error("store refused a batch of local messages", metadata: ["count": "\(prepared.operations.count)", "error": "\(error)"])
                let refusal = JSONError(code: 500, message: ProtocolError.other(error.description).description)
                return prepared.failures + prepared.requesters.map { Undeliverable(replyTo: $0.replyTo, response: .undeliverable(reference: $0.reference, error: refusal)) }
            }
        }
    }

    /// Queues a prepared batch's write, in one transaction, and hands its envelopes to the
    /// postman (see ``commit(_:)``); returns at once, without waiting for the write.
    package func queue(_ prepared: Prepared) -> Queued {
        guard !prepared.operations.isEmpty else {
            return Queued(pending: nil, prepared: prepared, requestUIDs: [], unsettled: unsettled, logger: logger)
        }
        let requests = prepared.operations.compactMap { operation -> BacklogEntry? in
            if case .putBacklog(let backlog) = operation { backlog } else { nil }
        }
        unsettled.begin(requests)
        let postman = self.postman, doorbell = self.doorbell, enqueuedAt = store.now()
        let pending: PendingCommit
        if store.hasAmpleRoom {
            let (operations, entries) = Self.reservingOutboxSeqs(prepared.operations, in: store, enqueuedAt: enqueuedAt)
            let seqs = entries.map(\.seq)
            postman.claim(seqs)
            pending = store.enqueue(operations, deferrable: defersCommits)
            if pending.hasFailed {
                postman.releaseClaim(seqs)   // refused at once (the store is closing): nothing goes
            } else if !entries.isEmpty {
                // Handed over once queued: what the postman then stores about them is applied after them.
                postman.handOff(entries, claimed: true)
                doorbell.ring()
            }
        } else {
            let operations = prepared.operations
            pending = store.enqueue(operations) { results in
                let entries = Self.outboxEntries(operations, results, enqueuedAt: enqueuedAt)
                guard !entries.isEmpty else { return }
                postman.handOff(entries)
                doorbell.ring()
            }
        }
        return Queued(pending: pending, prepared: prepared, requestUIDs: requests.map(\.uid), unsettled: unsettled, logger: logger)
    }

    /// `operations` with an outbox number reserved for each `.enqueue`, and the entries they add.
    static func reservingOutboxSeqs(_ operations: [StoreOperation], in store: Store,
                                    enqueuedAt: StoreTime) -> ([StoreOperation], [OutboxEntry]) {
        let count = operations.reduce(0) { count, operation in
            if case .enqueue = operation { count + 1 } else { count }
        }
        guard count > 0 else { return (operations, []) }
        var seq = store.reserveOutboxSeqs(count)
        var reserved = operations
        var entries: [OutboxEntry] = []
        entries.reserveCapacity(count)
        for index in reserved.indices {
            guard case .enqueue(var draft) = reserved[index] else { continue }
            draft.reservedSeq = seq
            reserved[index] = .enqueue(draft)
            entries.append(OutboxEntry(seq: seq, draft: draft, enqueuedAt: enqueuedAt))
            seq += 1
        }
        return (reserved, entries)
    }

    /// The outbox entries `operations` added, in order, from their results.
    static func outboxEntries(_ operations: [StoreOperation], _ results: [StoreOperationResult], enqueuedAt: StoreTime) -> [OutboxEntry] {
        zip(operations, results).compactMap { operation, result in
            guard case .enqueue(let draft) = operation, case .enqueued(let seq) = result else { return nil }
            return OutboxEntry(seq: seq, draft: draft, enqueuedAt: enqueuedAt)
        }
    }

    /// A service's reply to a remote request (peer.md §4.4). Failures are logged (there is no
    /// queue to report them to).
    package func prepare(response bytes: [UInt8], into prepared: inout Prepared, now: UInt64 = unixNow()) async {
        do {
            await prepare(response: try ServiceResponse.parse(bytes), into: &prepared, now: now)
        } catch {
            logger.warning("dropping service response", metadata: ["error": "\(error)"])
        }
    }

    /// A response already parsed (a direct peer's handler answered): as above.
    func prepare(response: ServiceResponse, into prepared: inout Prepared, now: UInt64 = unixNow()) async {
        do {
            let destination = try RMBAddress(text: response.destination)
            let kind: OutgoingMessage.Kind = response.error.map { .error(code: $0.code, message: $0.message) } ?? .response
            let message = OutgoingMessage(uid: response.reference ?? "", destination: destination, kind: kind,
                                          payload: response.error == nil ? response.data : [], schema: response.schema,
                                          timestamp: response.now, expiration: Expiration.clamp(3600))
            let envelope = try await factory.make(message, now: now)
            let draft = OutboxDraft(uid: envelope.uid, destination: destination.twin, kind: EnvelopeKind(envelope),
                                    payload: try envelope.wireBytes(), deadline: StoreTime(seconds: envelope.timestamp + envelope.expiration))
            prepared.operations.append(.enqueue(draft))
            // Kept with the request (same commit) so a re-sent request gets this reply again.
            if !envelope.uid.isEmpty {
                let request = InboxKey(source: destination.twin, uid: envelope.uid, kind: .request)
                prepared.operations.append(.attachReply(StoredReply(kind: draft.kind, envelope: draft.payload, deadline: draft.deadline), to: request))
                // Answered: the request is done (for an in-process front-end this is the mark
                // that makes it delivered; for Redis it was marked at the push, and this is a no-op).
                prepared.operations.append(.markDelivered(request))
            }
        } catch {
            logger.warning("dropping service response", metadata: ["error": "\(error)"])
        }
    }

    /// Best effort: `ret` (and `ref`) of a request whose JSON is otherwise invalid.
    static func readableReply(_ bytes: [UInt8]) -> (replyTo: String, reference: String?)? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              let replyTo = object["ret"] as? String else { return nil }
        return (replyTo, object["ref"] as? String)
    }
}
