import Foundation
import RMBCLI
import RMBProtocol
import RMBTestSupport
import RedisClient
import Testing

/// `rmb service echo` against a real redis-server: every request answered once, in order, with
/// its own payload and reference, whether it takes requests one by one or in batches.
struct EchoServiceTests {
    /// Batch 1 (BRPOP), batches through BLMPOP, and batches on a server without BLMPOP (as
    /// before Redis 7: BRPOP then RPOP with a count).
    @Test(arguments: [(1, false), (256, false), (256, true)])
    func answersEveryRequestInOrder(batch: Int, withoutBLMPOP: Bool) async throws {
        let server = try RedisServer.start(options: withoutBLMPOP ? ["--rename-command", "BLMPOP", ""] : [])
        defer { server.stop() }
        let redis = try RedisClient(url: server.url, poolSize: 1)
        defer { redis.close() }
        let total = 300
        // Queued before the service starts, so a batching service really takes batches; one
        // malformed request in the middle is skipped without stopping the others.
        var pushes: [RedisArgument] = ["LPUSH", "msgbus.echo"]
        for index in 0..<total {
            if index == 150 { pushes.append(.bytes(Array("{not json".utf8))) }
            let request = ServiceRequest(
                reference: "ref-\(index)", source: "7", command: "echo", expiration: 60,
                data: Array("payload \(index)".utf8), tags: nil, schema: nil, now: 0)
            pushes.append(.bytes(request.jsonBytes()))
        }
        _ = try await redis.send(pushes).checked()

        let run = try await CLIProcess.run([
            "service", "echo", "--redis", server.url, "--command", "echo", "--count", "\(total)", "--batch", "\(batch)",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("skipping a request"))

        let replies = try await redis.send(["LRANGE", "msgbus.system.reply", "0", "-1"])
        // LPUSH puts the newest first: reversed, the list is in answer order.
        let answers = try (replies.array ?? []).reversed().map { reply in
            try ServiceResponse.parse(reply.bytes ?? [])
        }
        #expect(answers.count == total)
        for (index, answer) in answers.enumerated() {
            #expect(answer.reference == "ref-\(index)" && answer.destination == "7" && answer.error == nil)
            #expect(answer.data == Array("payload \(index)".utf8))
        }
    }

    @Test func refusesABatchBelowOne() async throws {
        let run = try await CLIProcess.run(["service", "echo", "--batch", "0"])
        #expect(run.status != 0 && run.stderr.contains("--batch"))
    }
}
