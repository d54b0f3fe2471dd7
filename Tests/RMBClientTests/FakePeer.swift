import Foundation
import RMBProtocol
import RedisClient

/// Plays the local rmb-peer for client tests: takes requests from `msgbus.system.local` and
/// answers each on its `ret` queue with whatever `answer` says (nil: no answer).
struct FakePeer {
    let redis: RedisClient
    var answer: @Sendable (ClientRequest) async -> ClientResponse?

    /// Serves until cancelled; returns the requests it saw.
    func serve() async -> [ClientRequest] {
        let connection = redis.makeDedicatedConnection(label: "fake-peer")
        defer { connection.close() }
        var seen: [ClientRequest] = []
        while !Task.isCancelled {
            guard let reply = try? await connection.blocking(["BRPOP", "msgbus.system.local", "0.2"], blockTimeout: .milliseconds(200)),
                  let pair = reply.array, pair.count == 2, let bytes = pair[1].bytes,
                  let request = try? ClientRequest.parse(bytes) else { continue }
            seen.append(request)
            guard let response = await answer(request) else { continue }
            _ = try? await redis.send(["LPUSH", .string(request.replyTo), .bytes(response.jsonBytes())])
        }
        return seen
    }

    static func echo(_ request: ClientRequest) -> ClientResponse {
        ClientResponse(reference: request.reference, data: request.data, source: String(request.destinations.first ?? 0),
                       schema: request.schema, now: 1_700_000_000, error: nil)
    }
}
