import ArgumentParser
import Foundation
import RMBProtocol
import RedisClient

/// `rmb bench peer`: requests through a running network, measured from a client's point of
/// view (LPUSH to the peer's `msgbus.system.local`, replies from the `ret` list).
struct PeerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peer",
        abstract: "Requests/s and latency through a running rmb-peer network (e.g. the one scripts/demo.sh starts).")
    @Option(help: "Redis of the requesting peer.") var redis: String = "redis://localhost:6379"
    @Option(help: "Destination twin id.") var destination: UInt32
    @Option(help: "Command served at the destination.") var command: String = "echo"
    @Option(help: "Number of requests.") var count: Int = 2000
    @Option(help: "Requests in flight at most.") var window: Int = 500
    @Option(help: "Payload size in bytes.") var size: Int = 300

    func run() async throws {
        guard count > 0, window > 0, size >= 0 else { throw InputError("--count and --window must be positive") }
        let client = try RedisClient(url: redis, poolSize: 2)
        let replies = client.makeDedicatedConnection(label: "bench-replies")
        defer { replies.close(); client.close() }
        let ret = "bench.reply." + UUID().uuidString.prefix(8)
        let payload = [UInt8](repeating: 0x61, count: size)
        let clock = ContinuousClock()
        var sentAt: [String: ContinuousClock.Instant] = [:]
        var latencies: [Duration] = []
        var sent = 0, received = 0, errors = 0
        let start = clock.now
        while received < count {
            if sent < count, sent - received < window {
                var batch: [[RedisArgument]] = []
                while sent < count, sent - received + batch.count < window, batch.count < 100 {
                    let ref = "b\(sent + batch.count)"
                    let request = ClientRequest(reference: ref, command: command, expiration: 300, data: payload,
                                                destinations: [destination], replyTo: ret)
                    batch.append(["LPUSH", "msgbus.system.local", .bytes(request.jsonBytes())])
                    sentAt[ref] = clock.now
                }
                _ = try await client.pipeline(batch)
                sent += batch.count
            }
            let reply = try await replies.blocking(["BRPOP", .string(ret), 5], blockTimeout: .seconds(5))
            guard let pair = reply.array, pair.count == 2, let bytes = pair[1].bytes else {
                print("no reply for 5 s after \(received) replies; stopping")
                break
            }
            received += 1
            if let response = try? ClientResponse.parse(bytes) {
                if response.error != nil { errors += 1 }
                if let ref = response.reference, let at = sentAt.removeValue(forKey: ref) { latencies.append(clock.now - at) }
            }
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        latencies.sort()
        func percentile(_ p: Double) -> String {
            guard !latencies.isEmpty else { return "-" }
            let d = latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
            return String(format: "%.1f ms", Double(d.components.attoseconds) / 1e15 + Double(d.components.seconds) * 1000)
        }
        print("rmb bench peer: \(received)/\(count) replies (\(errors) errors) in \(String(format: "%.2f", seconds)) s")
        print(String(format: "throughput      %.0f requests/s (round trips)", Double(received) / max(seconds, 1e-9)))
        print("latency         p50 \(percentile(0.5)), p99 \(percentile(0.99))")
    }
}
