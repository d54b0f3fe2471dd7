import Logging
import RMBClient
import RMBPeer
import RMBProtocol
import Redundancy
import Store

/// A direct peer's ``LocalDelivery``: requests go to the router's handlers (through a bounded
/// queue that the handler runner drains), replies and failure reports settle the waiting calls.
/// Nothing here touches Redis or crosses a process boundary; the messages keep the JSON shape
/// the inbox stores, so a delivery cut short by a crash is made again after the restart.
struct DirectDelivery: LocalDelivery {
    /// Where replies to this peer's calls are addressed (the requests' `ret`).
    static let replyQueue = "rmb.direct.replies"

    let waiters: ReplyWaiters
    let requests: LaneBuffer<ServiceRequest>
    /// Requests waiting for a handler before the relay sessions stop reading.
    let queueLimit: Int
    let handedOver: HandedOverKeys
    let now: @Sendable () -> StoreTime
    let logger: Logger

    func deliver(_ messages: [LocalMessage]) async -> [LocalHandOver] {
        var outcomes: [LocalHandOver] = []
        outcomes.reserveCapacity(messages.count)
        for message in messages {
            let isRequest = message.list.hasPrefix("msgbus.")
            guard handedOver.insert(message.key, now: now().millis, ttlSeconds: message.ttlSeconds) else {
                // A request handed over before is done only once its answer is stored (which
                // marks it delivered): until then it stays pending, whatever copy comes again.
                outcomes.append(isRequest ? .accepted : .alreadyHanded)
                continue
            }
            if message.list == Self.replyQueue {
                settle(message.json)
            } else if isRequest {
                do {
                    // Waits while the handlers are `queueLimit` requests behind: back-pressure to the relays.
                    await requests.append(try ServiceRequest.parse(message.json), waitingBelow: queueLimit)
                    // Done when the handler's answer is committed (it marks the record delivered).
                    outcomes.append(.accepted)
                    continue
                } catch {
                    logger.warning("dropping an unreadable stored request", metadata: ["error": "\(error)"])
                }
            } else {
                // A reply to a caller of another front-end that used this store (rmb-peer's Redis queues).
                logger.debug("dropping a reply for a Redis queue", metadata: ["queue": "\(message.list)"])
            }
            outcomes.append(.handed)
        }
        return outcomes
    }

    func report(_ replies: [(replyTo: String, response: ClientResponse)]) async throws {
        for (_, response) in replies { settleResponse(response) }
    }

    private func settle(_ json: [UInt8]) {
        do { settleResponse(try ClientResponse.parse(json)) } catch {
            logger.warning("dropping an unreadable reply", metadata: ["error": "\(error)"])
        }
    }

    private func settleResponse(_ response: ClientResponse) {
        guard let reference = response.reference, waiters.settle(reference, ReplyWaiters.outcome(of: response)) else {
            // The call timed out, was cancelled, or belonged to a run before a restart.
            logger.debug("dropping a reply no call waits for", metadata: ["ref": "\(response.reference ?? "")"])
            return
        }
    }
}
