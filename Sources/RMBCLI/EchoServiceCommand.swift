import ArgumentParser
import Foundation
import RMBProtocol
import RedisClient

/// `rmb service echo`: a tiny local service for demos and smoke tests. It serves
/// `msgbus.<command>` on a peer's Redis and answers every request with its own payload.
struct ServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Example services for a local rmb-peer.",
        subcommands: [Echo.self]
    )

    struct Echo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Answer every request for a command with its own payload.")
        @Option(help: "Redis of the peer that serves the command.") var redis: String = "redis://localhost:6379"
        @Option(help: "Command to serve (requests arrive on msgbus.<command>).") var command: String = "echo"
        @Option(help: "Stop after this many requests (0 = forever).") var count: Int = 0

        func run() async throws {
            let client: RedisClient
            do { client = try RedisClient(url: redis, poolSize: 1) } catch {
                printError("invalid --redis: \(error)")
                throw ExitCode(2)
            }
            let queue = client.makeDedicatedConnection(label: "echo")
            defer { queue.close(); client.close() }
            var served = 0
            while count == 0 || served < count {
                let reply: RedisReply
                do {
                    reply = try await queue.blocking(["BRPOP", .string("msgbus." + command), 1], blockTimeout: .seconds(1))
                } catch {
                    printError("redis: \(error)")
                    try await Task.sleep(for: .seconds(1))
                    continue
                }
                guard let pair = reply.array, pair.count == 2, let bytes = pair[1].bytes else { continue }
                do {
                    let request = try ServiceRequest.parse(bytes)
                    let response = ServiceResponse(reference: request.reference, data: request.data, destination: request.source,
                                                   schema: request.schema, now: 0)
                    _ = try await client.send(["LPUSH", "msgbus.system.reply", .bytes(response.jsonBytes())])
                    served += 1
                } catch {
                    printError("skipping a request: \(error)")
                }
            }
        }
    }
}
