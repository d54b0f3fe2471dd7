import ArgumentParser
import Foundation
import RMBClient
import RMBProtocol
import RedisClient

/// `rmb service echo`: a tiny local service for demos and smoke tests. It serves
/// `msgbus.<command>` on a peer's Redis and answers every request with its own payload.
struct ServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Example services: behind a local rmb-peer, or as a direct peer (no rmb-peer, no Redis).",
        subcommands: [Echo.self, DirectEcho.self]
    )

    struct Echo: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Answer every request for a command with its own payload.")
        @Option(help: "Redis of the peer that serves the command.") var redis: String = "redis://localhost:6379"
        @Option(help: "Command to serve (requests arrive on msgbus.<command>).") var command: String = "echo"
        @Option(help: "Stop after this many requests (0 = forever).") var count: Int = 0
        @Option(help: "Most requests taken and answered together (1 = one BRPOP and one LPUSH per request, like a simple app).")
        var batch: Int = 256

        func validate() throws {
            guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
            guard count >= 0 else { throw ValidationError("--count must not be negative") }
        }

        func run() async throws {
            let client: RedisClient
            do { client = try RedisClient(url: redis, poolSize: 1) } catch {
                printError("invalid --redis: \(error)")
                throw ExitCode(2)
            }
            let queue = client.makeDedicatedConnection(label: "echo")
            defer { queue.close(); client.close() }
            // Waits up to a second for the first request of a batch, as the server library does.
            var taker = QueueTaker(connection: queue, lists: [RedisKeys.command(command)])
            var served = 0
            // With batches, a batch's answers go out in the same write as the next take.
            var pending: [RedisArgument] = []
            while count == 0 || served < count {
                let requests: [[UInt8]]
                do {
                    let limit = count == 0 ? batch : min(batch, count - served)
                    let (taken, errors) = try await taker.take(limit: limit, after: pending.isEmpty ? [] : [Self.push(pending)])
                    for message in errors { printError("redis: \(message); answers lost") }
                    requests = taken?.entries ?? []
                    served += pending.count
                    pending = []
                } catch {
                    printError("redis: \(error)" + (pending.isEmpty ? "" : "; \(pending.count) answers lost"))
                    pending = []
                    try await Task.sleep(for: .seconds(1))
                    continue
                }
                var answers: [RedisArgument] = []
                for bytes in requests {
                    do {
                        let request = try ServiceRequest.parse(bytes)
                        let response = ServiceResponse(reference: request.reference, data: request.data, destination: request.source,
                                                       schema: request.schema, now: 0)
                        answers.append(.bytes(response.jsonBytes()))
                    } catch {
                        printError("skipping a request: \(error)")
                    }
                }
                guard !answers.isEmpty else { continue }
                if batch > 1, count == 0 || served + answers.count < count {
                    pending = answers
                    continue
                }
                do {
                    _ = try await client.send(Self.push(answers)).checked()
                    served += answers.count
                } catch {
                    printError("redis: \(error); \(answers.count) answers lost")
                }
            }
        }

        /// One LPUSH for a batch of answers: the first answer pushed is the first the peer takes.
        static func push(_ answers: [RedisArgument]) -> [RedisArgument] { ["LPUSH", .string(RedisKeys.reply)] + answers }
    }
}
