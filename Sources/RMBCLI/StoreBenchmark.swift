import ArgumentParser
import Foundation
import Store

extension BenchCommand {
    /// `rmb bench store`: durable append + removal throughput of the message store.
    struct StoreBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "store",
            abstract: "Outbox appends+removals per second with concurrent producers, and commit-wait p50/p99.")
        @Option(help: "Comma-separated producer counts.") var producers: String = "1,4,16"
        @Option(help: "Envelopes per run.") var count: Int = 50_000
        @Option(help: "Envelope size in bytes.") var size: Int = 300
        @Option(help: "Microseconds the writer may wait after a commit for the next writes (0 = off).") var commitDelay: Int = 0
        @Option(help: "Directory for the store files (default: a temporary directory, removed afterwards).") var path: String?

        func run() async throws {
            try await reportingBadInput {
                let counts = try producers.split(separator: ",").map { part -> Int in
                    guard let value = Int(part.trimmingCharacters(in: .whitespaces)), value > 0 else {
                        throw InputError("--producers must be positive integers separated by commas")
                    }
                    return value
                }
                guard count > 0, size > 0 else { throw InputError("--count and --size must be positive") }
                let base = path ?? FileManager.default.temporaryDirectory.appendingPathComponent("rmb-bench-store-\(UUID().uuidString)").path
                defer { if path == nil { try? FileManager.default.removeItem(atPath: base) } }
                print("rmb bench store: \(count) envelopes of \(size) bytes per run, fsync'd commits, store in \(base)")
                print("producers  envelopes/s  appends+removals/s  commits/s  ops/commit  wait p50 ms  wait p99 ms")
                for producerCount in counts {
                    let directory = base + "/p\(producerCount)-\(UUID().uuidString.prefix(8))"
                    let (count, size, delay) = (self.count, self.size, Duration.microseconds(max(0, commitDelay)))
                    let result = try await StoreBenchmark(producers: producerCount, envelopes: count, size: size, commitDelay: delay, path: directory).run()
                    try? FileManager.default.removeItem(atPath: directory)
                    print(result.line)
                }
            }
        }
    }
}

/// One bench run: `producers` tasks each enqueue their share of envelopes one by one, awaiting
/// each commit (as the peer does per accepted message); one consumer, like the peer's postman
/// after a relay confirmation, takes due entries and removes them in batches.
struct StoreBenchmark: Sendable {
    let producers: Int
    let envelopes: Int
    let size: Int
    let commitDelay: Duration
    let path: String

    struct Result: Sendable {
        let producers: Int
        let envelopes: Int
        let seconds: Double
        let commits: Int
        let operations: Int
        let waitsNanoseconds: [UInt64]

        var line: String {
            let waits = BenchSamples(nanoseconds: waitsNanoseconds)
            return String(
                format: "%9d  %11.0f  %18.0f  %9.0f  %10.1f  %11.2f  %11.2f",
                producers, Double(envelopes) / seconds, Double(2 * envelopes) / seconds, Double(commits) / seconds,
                Double(operations) / Double(max(1, commits)), waits.percentile(0.50) ?? 0, waits.percentile(0.99) ?? 0)
        }
    }

    func run() async throws -> Result {
        let store = try Store.open(path: path, mapSize: 1 << 30, commitDelay: commitDelay)
        let before = try store.stats()
        let payload = [UInt8](repeating: 0x5A, count: size)
        let deadline = StoreTime.now.adding(milliseconds: 3_600_000)
        let start = DispatchTime.now().uptimeNanoseconds
        let (producers, envelopes) = (self.producers, self.envelopes)
        let waits = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for producer in 0..<producers {
                group.addTask {
                    let share = envelopes / producers + (producer < envelopes % producers ? 1 : 0)
                    var waits: [UInt64] = []
                    waits.reserveCapacity(share)
                    for index in 0..<share {
                        let draft = OutboxDraft(uid: "bench-\(producer)-\(index)", destination: UInt32(producer + 1), kind: .request, payload: payload, deadline: deadline)
                        let begin = DispatchTime.now().uptimeNanoseconds
                        _ = try await store.outbox.enqueue(draft)
                        waits.append(DispatchTime.now().uptimeNanoseconds - begin)
                    }
                    return waits
                }
            }
            group.addTask {
                var removed = 0
                while removed < envelopes {
                    let due = try store.outbox.due(now: .now, limit: 1024)
                    if due.isEmpty {
                        try await Task.sleep(nanoseconds: 50_000)
                        continue
                    }
                    removed += try await store.outbox.remove(seqs: due.map(\.seq))
                }
                return []
            }
            var all: [UInt64] = []
            for try await waits in group { all += waits }
            return all
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let after = try store.stats()
        await store.close()
        return Result(producers: producers, envelopes: envelopes, seconds: seconds,
                      commits: after.commits - before.commits, operations: after.operations - before.operations,
                      waitsNanoseconds: waits)
    }
}
