import Foundation
import RedisClient

extension PeerBench {
    /// The paired mode: `--rounds` rounds, each a closed loop through rmb-peer and one through
    /// the direct peer back to back, then the first of `--rates` through each. On a machine whose
    /// speed drifts (a VM beside other tenants), runs minutes apart differ more than the two paths
    /// do; pairs taken seconds apart, summarised by their median, compare the paths themselves.
    func benchPaired(_ peerRedis: RedisClient, _ viaPeer: PeerBenchRoute, _ payload: [UInt8]) async throws {
        let rate = parsedRates[0]
        var ratios: [Double] = []
        var peerP99: [Double] = []
        var directP99: [Double] = []
        _ = try await withDirectPeer(payload) { peer, destination in
            for round in 1...rounds {
                let closedRMB = try await measure("round \(round): rmb closed loop", peerRedis, viaPeer, .closed(window: window))
                let closedDirect = try await measureClient("round \(round): direct closed loop (\(directStoreLabel))", peer, to: destination,
                                                           payload, .closed(window: window))
                print("round \(round): direct peer / rmb-peer path: " + PeerBenchFigures.compare(closedDirect, closedRMB, cpu: .inverseRatio))
                if closedRMB.throughput > 0 { ratios.append(closedDirect.throughput / closedRMB.throughput) }
                let ratedRMB = try await measure("round \(round): rmb \(rate)/s", peerRedis, viaPeer, .fixed(perSecond: Double(rate)))
                let ratedDirect = try await measureClient("round \(round): direct \(rate)/s (\(directStoreLabel))", peer, to: destination,
                                                          payload, .fixed(perSecond: Double(rate)))
                if let p99 = ratedRMB.p99 { peerP99.append(p99) }
                if let p99 = ratedDirect.p99 { directP99.append(p99) }
            }
        }
        print("paired, \(rounds) rounds: " + [
            Self.summary("direct / rmb-peer closed loop", ratios, format: "%.2f"),
            Self.summary("p99 at \(rate)/s direct (ms)", directP99, format: "%.2f"),
            Self.summary("rmb-peer path (ms)", peerP99, format: "%.2f"),
        ].joined(separator: "; "))
    }

    /// "name median m (min–max)", or "name -" with no values.
    static func summary(_ name: String, _ values: [Double], format: String) -> String {
        let samples = BenchSamples(values)
        guard let median = samples.median, let low = samples.sorted.first, let high = samples.sorted.last else { return "\(name) -" }
        return "\(name) median " + String(format: format, median) + " (" + String(format: format, low) + "–" + String(format: format, high) + ")"
    }
}
