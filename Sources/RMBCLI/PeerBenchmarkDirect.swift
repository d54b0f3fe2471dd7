import Foundation
import Logging
import RMBClient
import RMBDirectPeer
import RMBIdentity
import TwinDirectory

extension PeerBench {
    /// The direct mode: a direct peer in this process (its own relay sessions, signing,
    /// encryption and store; no rmb-peer, no Redis) calls `--direct-destination`; closed loop and
    /// the fixed rates. Returns the closed loop's figures (nil without the direct options).
    func benchDirect(_ payload: [UInt8]) async throws -> PeerBenchFigures? {
        try await withDirectPeer(payload) { peer, destination in
            let closed = try await measureClient("direct closed loop (\(window) in flight, \(directStoreLabel))", peer, to: destination,
                                                 payload, .closed(window: window))
            for rate in parsedRates {
                _ = try await measureClient("direct \(rate)/s (\(directStoreLabel))", peer, to: destination, payload, .fixed(perSecond: Double(rate)))
            }
            return closed
        }
    }

    var directStoreLabel: String { directStore == nil ? "no store" : "store" }

    /// Runs `body` with a running direct peer for the direct options and `--direct-destination`,
    /// once the destination answers it (nil without the options); stops the peer after.
    func withDirectPeer<T>(_ payload: [UInt8], _ body: (RMBDirectPeer, UInt32) async throws -> T) async throws -> T? {
        guard let twinsPath = directTwins, let mnemonic = ProcessInfo.processInfo.environment["RMB_DIRECT_MNEMONIC"],
              let destination = directDestination else { return nil }
        var configuration = RMBDirectPeer.Configuration(identity: try Identity(parsing: mnemonic, keyType: .sr25519))
        configuration.store = directStore.map { .lmdb(path: $0) } ?? .none
        var logger = Logger(label: "bench.direct")
        logger.logLevel = .warning
        let peer = try await RMBDirectPeer(configuration: configuration,
                                           directory: CachedTwinDirectory(backend: try LocalTwinDirectory(path: twinsPath)), logger: logger)
        let running = Task { try await peer.run() }
        defer { running.cancel() }
        // Ready once the destination answers.
        let ready = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < ready {
            if (try? await peer.call(twin: destination, command, payload: payload, schema: nil, timeout: .seconds(2))) != nil { break }
        }
        return try await body(peer, destination)
    }
}
