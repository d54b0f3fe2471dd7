import Foundation
import Logging
import RMBProtocol
import RedisClient
import Redundancy
import Store

/// Envelopes from the relays to local Redis (peer.md §5), with the fixes of known-gaps §1, §3,
/// §6, §7 and §15: validation, de-duplication in the store's inbox (so an envelope received via
/// two relays, or re-sent after a crash, reaches the application once), replies accepted only
/// from twins that were asked, command names validated. Envelopes are processed concurrently in
/// lanes keyed by sender, so a slow twin lookup stalls only its own sender and per-sender order
/// is kept.
struct Downstream: Sendable {
    let validator: IncomingValidator
    let factory: EnvelopeFactory
    let store: Store
    let redis: RedisClient
    let wakePostman: @Sendable () -> Void
    let logger: Logger
    var lanes = 8

    func run(_ frames: AsyncStream<InboundFrame>) async {
        await withDiscardingTaskGroup { group in
            var continuations: [AsyncStream<RMBEnvelope>.Continuation] = []
            for _ in 0..<lanes {
                let (stream, continuation) = AsyncStream.makeStream(of: RMBEnvelope.self, bufferingPolicy: .bufferingNewest(50_000))
                continuations.append(continuation)
                group.addTask {
                    for await envelope in stream { await self.process(envelope) }
                }
            }
            group.addTask { await self.redeliverPending() }
            for await frame in frames {
                let envelope: RMBEnvelope
                do {
                    envelope = try RMBEnvelope(wire: frame.bytes)
                } catch {
                    logger.warning("dropping undecodable frame", metadata: ["relay": "\(frame.relay)", "error": "\(error)"])
                    continue
                }
                let source = envelope.hasSource ? envelope.source.twin : 0
                continuations[Int(source % UInt32(lanes))].yield(envelope)
            }
            for continuation in continuations { continuation.finish() }
            group.cancelAll()
        }
    }

    /// A pushed message waiting in the inbox: Redis list + JSON, stored before the push.
    struct Delivery {
        let list: String
        let json: [UInt8]

        var encoded: [UInt8] {
            let name = Array(list.utf8)
            return [UInt8(truncatingIfNeeded: name.count >> 8), UInt8(truncatingIfNeeded: name.count)] + name + json
        }

        init(list: String, json: [UInt8]) { self.list = list; self.json = json }

        init?(encoded: [UInt8]) {
            guard encoded.count >= 2 else { return nil }
            let length = Int(encoded[0]) << 8 | Int(encoded[1])
            guard encoded.count >= 2 + length else { return nil }
            list = String(decoding: encoded[2..<(2 + length)], as: UTF8.self)
            json = Array(encoded[(2 + length)...])
        }
    }

    func process(_ envelope: RMBEnvelope) async {
        let validated: ValidatedEnvelope
        do {
            validated = try await validator.validate(envelope)
        } catch {
            logger.warning("refusing incoming envelope", metadata: ["uid": "\(envelope.uid)", "source": "\(envelope.hasSource ? envelope.source.text : "0")", "error": "\(error)"])
            if error.replyable { await sendError(error.error, to: envelope, expiration: envelope.expiration) }
            return
        }
        switch envelope.message {
        case .request(let request)?:
            await handleRequest(validated, command: request.command)
        default:
            await handleReply(validated)
        }
    }

    private func handleRequest(_ validated: ValidatedEnvelope, command: String) async {
        let envelope = validated.envelope
        if command.hasPrefix(VersionPlugin.name + ".") {
            guard await firstTime(validated, delivery: nil) else { return }
            if command == VersionPlugin.versionCommand {
                await send(VersionPlugin.reply(to: validated))
            } else {
                await sendError(.other("unknown command '\(command)' of plugin 'rmb'"), to: envelope, expiration: 300)
            }
            return
        }
        if let problem = CommandName.problem(with: command) {
            await sendError(.other("invalid command: \(problem)"), to: envelope, expiration: 300)
            return
        }
        let json = ServiceRequest(validated: validated, command: command).jsonBytes()
        let delivery = Delivery(list: RedisKeys.command(command), json: json)
        guard await firstTime(validated, delivery: delivery) else { return }
        await push(delivery, key: inboxKey(envelope))
    }

    private func handleReply(_ validated: ValidatedEnvelope) async {
        let envelope = validated.envelope
        let backlog: BacklogEntry?
        do { backlog = try store.backlog.get(uid: envelope.uid) } catch {
            logger.error("backlog unavailable", metadata: ["error": "\(error)"])
            return
        }
        guard let backlog else {
            logger.debug("dropping reply without a live request", metadata: ["uid": "\(envelope.uid)", "kind": "\(envelope.messageKind)"])
            return
        }
        if let sender = validated.sender, !backlog.expects(replyFrom: sender.id) {
            logger.warning("refusing reply from a twin that was not asked", metadata: ["uid": "\(envelope.uid)", "source": "\(sender.id)"])
            return
        }
        guard let response = ClientResponse(validated: validated, reference: backlog.reference) else {
            logger.debug("dropping reply without a message", metadata: ["uid": "\(envelope.uid)", "kind": "\(envelope.messageKind)"])
            return
        }
        let delivery = Delivery(list: backlog.replyTo, json: response.jsonBytes())
        guard await firstTime(validated, delivery: delivery) else { return }
        await push(delivery, key: inboxKey(envelope))
    }

    private func inboxKey(_ envelope: RMBEnvelope) -> InboxKey {
        InboxKey(source: envelope.hasSource ? envelope.source.twin : 0, uid: envelope.uid, kind: EnvelopeKind(envelope))
    }

    /// Records the envelope in the inbox; false for a duplicate (already seen within its ttl).
    private func firstTime(_ validated: ValidatedEnvelope, delivery: Delivery?) async -> Bool {
        let envelope = validated.envelope
        let deadline = StoreTime(seconds: envelope.timestamp &+ envelope.expiration)
        do {
            let outcome = try await store.inbox.record(InboxDraft(key: inboxKey(envelope), deadline: deadline, payload: delivery?.encoded ?? []))
            switch outcome {
            case .new:
                if delivery == nil { _ = try await store.inbox.markDelivered(inboxKey(envelope)) }
                return true
            case .duplicate:
                logger.debug("dropping duplicate", metadata: ["uid": "\(envelope.uid)", "source": "\(inboxKey(envelope).source)"])
                return false
            }
        } catch {
            logger.error("inbox unavailable; dropping envelope", metadata: ["uid": "\(envelope.uid)", "error": "\(error)"])
            return false
        }
    }

    /// LPUSH + LTRIM, then mark delivered. A failed push stays pending and is retried.
    private func push(_ delivery: Delivery, key: InboxKey) async {
        do {
            let replies = try await redis.pipeline([
                ["LPUSH", .string(delivery.list), .bytes(delivery.json)],
                ["LTRIM", .string(delivery.list), 0, .integer(RedisKeys.listLimit)],
            ])
            if let error = replies.first?.errorMessage { throw RedisError.server(error) }
            _ = try await store.inbox.markDelivered(key)
        } catch {
            logger.warning("local push failed; will retry", metadata: ["list": "\(delivery.list)", "error": "\(error)"])
        }
    }

    /// Retries deliveries that were stored but not pushed (Redis down, or a crash in between).
    private func redeliverPending() async {
        while !Task.isCancelled {
            do {
                for pending in try store.inbox.pending(limit: 1000) {
                    guard let delivery = Delivery(encoded: pending.payload), !delivery.list.isEmpty else {
                        _ = try await store.inbox.markDelivered(pending.key)
                        continue
                    }
                    await push(delivery, key: pending.key)
                }
            } catch {
                logger.error("inbox scan failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func send(_ message: OutgoingMessage) async {
        do {
            let envelope = try await factory.make(message)
            _ = try await store.outbox.enqueue(OutboxDraft(uid: envelope.uid, destination: message.destination.twin,
                                                           kind: EnvelopeKind(envelope), payload: try envelope.wireBytes(),
                                                           deadline: StoreTime(seconds: envelope.timestamp + envelope.expiration)))
            wakePostman()
        } catch {
            logger.warning("could not queue a reply", metadata: ["uid": "\(message.uid)", "error": "\(error)"])
        }
    }

    /// Signed error reply to the source of a failed request (envelope.md §7).
    private func sendError(_ error: ProtocolError, to request: RMBEnvelope, expiration: UInt64) async {
        guard request.hasSource, request.source.twin != 0 else { return }
        await send(OutgoingMessage(uid: request.uid, destination: request.source,
                                   kind: .error(code: error.code, message: error.description),
                                   tags: request.hasTags ? request.tags : nil, expiration: max(expiration, 1)))
    }
}
