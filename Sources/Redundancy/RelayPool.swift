import Logging
import RMBProtocol
import TwinDirectory

/// Sessions to every relay of the twin at once. Outgoing batches go to the best-ranked
/// connected relay and move on to the next one until one confirms; incoming frames of all
/// relays are merged into ``inbound``.
public final class RelayPool: Sendable {
    public let connections: [RelayConnection]
    public let inbound: AsyncStream<InboundFrame>
    private let continuation: AsyncStream<InboundFrame>.Continuation

    public init(relays: [RelayAddress], peer: RMBAddress, configuration: RelayConnection.Configuration = .init(),
                logger: Logger, token: @escaping @Sendable () throws -> String) {
        let (stream, continuation) = AsyncStream.makeStream(of: InboundFrame.self, bufferingPolicy: .bufferingNewest(100_000))
        self.inbound = stream
        self.continuation = continuation
        self.connections = relays.map { relay in
            RelayConnection(relay: relay, peer: peer, configuration: configuration, logger: logger, token: token) { frame in
                continuation.yield(frame)
            }
        }
    }

    /// Runs every connection until the task is cancelled.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for connection in connections {
                group.addTask { await connection.run() }
            }
        }
        continuation.finish()
    }

    /// Where a confirmed batch went, and how many relays it was written to before (each an extra
    /// copy on the wire when the write got through but the confirmation did not come back).
    public struct Delivery: Sendable, Equatable {
        public var relay: RelayAddress
        /// Relays the batch was written to without a confirmation, before `relay` confirmed it.
        public var unconfirmedCopies: Int
    }

    /// Sends a batch through the best relay that confirms it. `written` as in
    /// ``RelayConnection/sendConfirmed(_:written:)`` (it may run again for a later relay).
    @discardableResult
    public func send(_ frames: [[UInt8]], written: (@Sendable () -> Void)? = nil) async throws(RedundancyError) -> Delivery {
        var ranked: [(Double, RelayConnection)] = []
        for connection in connections {
            ranked.append((await connection.status.rank, connection))
        }
        ranked.sort { $0.0 < $1.0 }
        var reasons: [String] = []
        var unconfirmedCopies = 0
        for (rank, connection) in ranked where rank.isFinite {
            do {
                _ = try await connection.sendConfirmed(frames, written: written)
                return Delivery(relay: connection.relay, unconfirmedCopies: unconfirmedCopies)
            } catch {
                reasons.append(String(describing: error))
                if (error as? RedundancyError)?.mayHaveReachedRelay == true { unconfirmedCopies += 1 }
            }
        }
        throw .noRelayAvailable(reasons, unconfirmedCopies: unconfirmedCopies)
    }

    /// Health of every relay, in configuration order.
    public func status() async -> [RelayHealth] {
        var result: [RelayHealth] = []
        for connection in connections { result.append(await connection.status) }
        return result
    }
}
