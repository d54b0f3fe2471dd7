import RMBProtocol

/// A message for a local application (peer.md §4.3, §4.4): a remote twin's request for a local
/// service, or a reply (or failure) for a local caller, with the list the Redis JSON API puts it
/// on (`msgbus.<command>` for a request, the caller's `ret` queue for a reply). Each front-end
/// takes the form it needs: rmb-peer pushes `json`, a direct peer uses `body` and parses nothing.
package struct LocalMessage: Sendable {
    /// What the message is.
    package enum Body: Sendable {
        case request(ServiceRequest)
        case reply(ClientResponse)
    }

    package let list: String
    package let body: Body
    /// `body` as the Redis JSON API spells it. The inbox keeps this form (so a delivery cut short
    /// by a crash is made again after the restart, whichever front-end made it), so it exists
    /// anyway and is passed along instead of being written twice.
    package let json: [UInt8]
    /// Names the message for at-most-once hand-over (the inbox key): a second hand-over of the
    /// same key while `ttlSeconds` runs is a no-op.
    package let key: String
    package let ttlSeconds: Int64

    package init(list: String, body: Body, json: [UInt8], key: String, ttlSeconds: Int64) {
        self.list = list; self.body = body; self.json = json; self.key = key; self.ttlSeconds = ttlSeconds
    }
}

extension LocalMessage.Body {
    /// The Redis JSON API's form of the message.
    package var jsonBytes: [UInt8] {
        switch self {
        case .request(let request): request.jsonBytes()
        case .reply(let response): response.jsonBytes()
        }
    }

    /// Reads a message kept in the inbox: a request's record holds a service request, any
    /// other kind's a client response.
    package init(json: [UInt8], isRequest: Bool) throws(JSONMessageError) {
        self = isRequest ? .request(try ServiceRequest.parse(json)) : .reply(try ClientResponse.parse(json))
    }
}

/// What became of one message handed to a ``LocalDelivery``.
package enum LocalHandOver: Sendable, Equatable {
    /// Handed to the application now, for good (it survives a crash of this process).
    case handed
    /// Taken by an application inside this process, which will answer it: not done until its
    /// answer is stored (that commit marks it delivered), so a crash before then hands it over
    /// again at the next start instead of losing it.
    case accepted
    /// Handed before (same key): nothing done.
    case alreadyHanded
    /// Not handed; the engine tries again later.
    case failed(String)
    /// Not handed: the application's queue is full (its consumer is behind). The message stays
    /// in the store and is handed over once there is room, or reported expired.
    case queueFull
}

/// Why a report could not be handed over.
package enum LocalDeliveryError: Error, CustomStringConvertible {
    /// The callers' queues are full (they read none of their replies): the reports were dropped.
    case queueFull(lists: [String], dropped: Int)

    package var description: String {
        switch self {
        case let .queueFull(lists, dropped):
            "\(dropped) report(s) dropped: reply queue full in \(lists.prefix(5).joined(separator: ", "))"
        }
    }
}

/// The seam between the engine and its front-end: where what arrives from the relays, and what
/// the engine has to tell local callers, goes. `rmb-peer` pushes to Redis lists
/// (``RedisDelivery``); a direct peer hands messages to its handlers and waiting calls in process.
package protocol LocalDelivery: Sendable {
    /// Whether the callers waiting for replies live in this process, so a crash takes them
    /// along: a reply may then be handed over before its request's write is durable (a crash
    /// that forgets the request forgets its caller too). False for callers that outlive this
    /// process (Redis): one of them would get a second answer to a request re-sent after a
    /// crash.
    var callersLiveInProcess: Bool { get }
    /// Whether ``deliver(_:)`` reads a message's JSON form (a Redis front-end pushes it). A
    /// front-end that takes only the typed body, and whose callers live in this process,
    /// spares the engine encoding replies that nothing would read.
    var handsOverJSON: Bool { get }
    /// Hands each message over, in order, at most once per key; one outcome per message.
    func deliver(_ messages: [LocalMessage]) async -> [LocalHandOver]
    /// Tells callers their requests failed (each reply goes to its `ret` queue): undeliverable,
    /// expired. Best effort, no de-duplication; throws when they could not be told.
    func report(_ replies: [(replyTo: String, response: ClientResponse)]) async throws
}

extension LocalDelivery {
    package var handsOverJSON: Bool { true }
}
