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
            var taker = RequestTaker(queue: queue, name: "msgbus." + command)
            var served = 0
            // With batches, a batch's answers go out in the same write as the next take.
            var pending: [RedisArgument] = []
            while count == 0 || served < count {
                let requests: [[UInt8]]
                do {
                    requests = try await taker.take(limit: count == 0 ? batch : min(batch, count - served), pushing: pending)
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
                    _ = try await client.send(RequestTaker.push(answers)).checked()
                    served += answers.count
                } catch {
                    printError("redis: \(error); \(answers.count) answers lost")
                }
            }
        }

        /// Takes the oldest waiting requests, waiting up to a second for the first: one `BLMPOP`
        /// (Redis 7) per batch; on an older Redis, `BRPOP` for the first and `RPOP` with a count
        /// for the rest (two round trips per batch, still fewer than one per request). `answers`
        /// (of the last batch) are pushed first, in the same write.
        struct RequestTaker {
            let queue: RedisDedicatedConnection
            let name: String
            private var useBLMPOP = true

            init(queue: RedisDedicatedConnection, name: String) {
                self.queue = queue
                self.name = name
            }

            mutating func take(limit: Int, pushing answers: [RedisArgument] = []) async throws -> [[UInt8]] {
                var push: [[RedisArgument]] = answers.isEmpty ? [] : [Self.push(answers)]
                if useBLMPOP && limit > 1 {
                    let reply = try await waiting(["BLMPOP", 1, 1, .string(name), "RIGHT", "COUNT", .init(limit)], after: push)
                    push = []
                    if case .error = reply {
                        useBLMPOP = false
                    } else {
                        // [key, [oldest, …]] or null after the timeout.
                        guard let pair = reply.array, pair.count == 2 else { return [] }
                        return (pair[1].array ?? []).compactMap(\.bytes)
                    }
                }
                let reply = try await waiting(["BRPOP", .string(name), 1], after: push)
                guard let pair = reply.array, pair.count == 2, let first = pair[1].bytes else { return [] }
                guard limit > 1 else { return [first] }
                // A Redis before 6.2 has no count on RPOP: one at a time then.
                guard let more = try? await queue.send(["RPOP", .string(name), .init(limit - 1)]) else { return [first] }
                return [first] + (more.array ?? []).compactMap(\.bytes)
            }

            /// One LPUSH for a batch of answers: the first answer pushed is the first the peer takes.
            static func push(_ answers: [RedisArgument]) -> [RedisArgument] { ["LPUSH", "msgbus.system.reply"] + answers }

            /// `command` (blocking up to a second) after `commands` in one write, and its reply. An
            /// error reply to one of `commands` is reported, not thrown: `command` took requests.
            private func waiting(_ command: [RedisArgument], after commands: [[RedisArgument]]) async throws -> RedisReply {
                if commands.isEmpty { return try await queue.blocking(command, blockTimeout: .seconds(1)) }
                let replies = try await queue.blocking(pipeline: commands + [command], blockTimeout: .seconds(1))
                for case let .error(message) in replies.dropLast() { printError("redis: \(message); answers lost") }
                guard let last = replies.last else { throw RedisError.protocolError("no reply to \(command.count) commands") }
                return last
            }
        }
    }
}
