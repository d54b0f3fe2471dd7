import Logging
import Redundancy
import RMBCalls
import RMBEngine
import RMBProtocol
import Store
import Synchronization

/// A direct peer's ``LocalDelivery``: requests go to the router's handlers (through a bounded
/// queue that the handler runner drains), replies and failure reports settle the waiting calls.
/// Nothing here touches Redis, crosses a process boundary or parses JSON.
struct DirectDelivery: LocalDelivery {
    /// Where replies to this peer's calls are addressed (the requests' `ret`).
    static let replyQueue = "rmb.direct.replies"

    let waiters: ReplyWaiters
    let requests: LaneBuffer<ServiceRequest>
    /// Requests waiting for a handler before the relay sessions stop reading.
    let queueLimit: Int
    let handedOver: HandedOverKeys
    /// Closed when a graceful stop begins: requests are no longer handed to the handlers.
    let serving: ServingGate
    let now: @Sendable () -> StoreTime
    let logger: Logger

    /// The calls waiting for replies are tasks of this process.
    var callersLiveInProcess: Bool { true }

    /// Requests and replies are handed over as values; only a request's record keeps its JSON
    /// (for a hand-over again after a restart).
    var handsOverJSON: Bool { false }

    func deliver(_ messages: [LocalMessage]) async -> [LocalHandOver] {
        var outcomes: [LocalHandOver] = []
        outcomes.reserveCapacity(messages.count)
        for message in messages {
            let isRequest = if case .request = message.body { true } else { false }
            // Stopping: the request stays pending in the store (handed over at the next start
            // with a persistent store; the requester re-sends it otherwise).
            guard !isRequest || serving.isOpen else {
                outcomes.append(.failed("the direct peer is stopping"))
                continue
            }
            guard handedOver.insert(message.key, now: now().millis, ttlSeconds: message.ttlSeconds) else {
                // A request handed over before is done only once its answer is stored (which
                // marks it delivered): until then it stays pending, whatever copy comes again.
                outcomes.append(isRequest ? .accepted : .alreadyHanded)
                continue
            }
            switch message.body {
            case .request(let request):
                // Waits while the handlers are `queueLimit` requests behind: back-pressure to the relays.
                await requests.append(request, waitingBelow: queueLimit)
                // Done when the handler's answer is committed (it marks the record delivered).
                outcomes.append(.accepted)
            case .reply(let response) where message.list == Self.replyQueue:
                settle(response)
                outcomes.append(.handed)
            case .reply:
                // A reply to a caller of another front-end that used this store (rmb-peer's Redis queues).
                logger.debug("dropping a reply for a Redis queue", metadata: ["queue": "\(message.list)"])
                outcomes.append(.handed)
            }
        }
        return outcomes
    }

    func report(_ replies: [(replyTo: String, response: ClientResponse)]) async throws {
        for (_, response) in replies { settle(response) }
    }

    private func settle(_ response: ClientResponse) {
        guard let reference = response.reference, waiters.settle(reference, ReplyWaiters.outcome(of: response)) else {
            // The call timed out, was cancelled, or belonged to a run before a restart.
            logger.debug("dropping a reply no call waits for", metadata: ["ref": "\(response.reference ?? "")"])
            return
        }
    }
}

/// Whether a direct peer still hands requests to its handlers; closed once, when its graceful
/// stop begins.
final class ServingGate: Sendable {
    private let open = Atomic<Bool>(true)

    var isOpen: Bool { open.load(ordering: .acquiring) }

    func close() { open.store(false, ordering: .releasing) }
}
