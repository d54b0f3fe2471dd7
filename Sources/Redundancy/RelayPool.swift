import Logging
import RMBProtocol
import TwinDirectory

/// Sessions to every relay of the twin at once. Outgoing batches go to the best-ranked
/// connected relay, are hedged through the next one when its confirmation is overdue, and move
/// on until one confirms; incoming frames of all relays are merged into ``inbound``.
public final class RelayPool: Sendable {
    public let connections: [RelayConnection]
    /// Frames of every relay, in arrival order per relay. Bounded: when the consumer falls
    /// ``inboundCapacity`` frames or ``inboundByteBudget`` bytes behind, the connections stop
    /// reading their sockets until it catches up (the relays keep the rest), instead of dropping
    /// frames. The byte bound matters for big envelopes (frames go up to 4 MiB).
    public let inbound = LaneBuffer<InboundFrame>(weigh: { $0.size })
    public static let inboundCapacity = 10_000
    public static let inboundByteBudget = 64 << 20
    /// Runs the hedge deadlines of all batches in flight.
    private let hedgeTimer: HedgeTimer

    public init(relays: [RelayAddress], peer: RMBAddress, configuration: RelayConnection.Configuration = .init(),
                clock: any Clock<Duration> = EventLoopClock(),
                logger: Logger, token: @escaping @Sendable () throws -> String) {
        self.hedgeTimer = HedgeTimer(clock: clock)
        let inbound = self.inbound
        self.connections = relays.map { relay in
            RelayConnection(relay: relay, peer: peer, configuration: configuration, clock: clock, logger: logger, token: token) { frame in
                await inbound.append(frame, waitingBelow: Self.inboundCapacity, weightBelow: Self.inboundByteBudget)
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
        await inbound.finish()
    }

    /// Closes every session with a close frame (1001) and stops reconnecting; ``run()`` returns
    /// when the relays answered (bound it with the caller's cancellation).
    public func closeSessions() async {
        await withDiscardingTaskGroup { group in
            for connection in connections {
                group.addTask { await connection.shutdown() }
            }
        }
    }

    /// Where a confirmed batch went, and how many other relays got a copy of it.
    public struct Delivery: Sendable, Equatable {
        public var relay: RelayAddress
        /// Relays the batch was written to that failed without a confirmation (timeout, lost
        /// connection) before `relay` confirmed it.
        public var unconfirmedCopies: Int
        /// Relays the batch was hedged through (or from) that had not confirmed when `relay` did.
        public var hedgedCopies: Int = 0

        public init(relay: RelayAddress, unconfirmedCopies: Int, hedgedCopies: Int = 0) {
            self.relay = relay; self.unconfirmedCopies = unconfirmedCopies; self.hedgedCopies = hedgedCopies
        }
    }

    private enum AttemptEvent: Sendable {
        case settled(Int, Result<Duration, any Error>)
        case hedgeDue(Int)
    }

    /// Sends a batch through the best relay that confirms it. When that relay's confirmation is
    /// later than its hedge deadline (``HedgePolicy``), the batch goes through the next-ranked
    /// connected relay as well, without waiting for the first to fail, and the first one to
    /// confirm wins (receivers drop the second copy by uid). At most two relays carry a batch
    /// at once; a relay that fails hands over to the next one. `written` as in
    /// ``RelayConnection/sendConfirmed(_:written:)`` (it may run again for a later relay).
    @discardableResult
    public func send(_ frames: [[UInt8]], written: (@Sendable () -> Void)? = nil) async throws(RedundancyError) -> Delivery {
        var ranked: [(rank: Double, connection: RelayConnection)] = []
        for connection in connections {
            ranked.append((await connection.status.rank, connection))
        }
        let candidates = ranked.filter { $0.rank.isFinite }.sorted { $0.rank < $1.rank }.map(\.connection)
        guard !candidates.isEmpty else { throw .noRelayAvailable([], unconfirmedCopies: 0) }

        let (events, sink) = AsyncStream.makeStream(of: AttemptEvent.self)
        var next = 0
        var outstanding = Set<Int>()
        var timers: [Int: HedgeTimer.Token] = [:]
        var reasons: [String] = []
        var unconfirmedCopies = 0
        let hedgeTimer = self.hedgeTimer
        defer {
            for timer in timers.values { hedgeTimer.cancel(timer) }
            sink.finish()
        }
        func launch() async {
            let index = next, connection = candidates[index]
            next += 1
            outstanding.insert(index)
            Task {
                let result: Result<Duration, any Error>
                do { result = .success(try await connection.sendConfirmed(frames, written: written)) } catch { result = .failure(error) }
                sink.yield(.settled(index, result))
            }
            if connection.hedging.enabled {
                let deadline = await connection.hedgeDeadline
                timers[index] = hedgeTimer.schedule(after: deadline) { sink.yield(.hedgeDue(index)) }
            }
        }

        await launch()
        for await event in events {
            switch event {
            case .settled(let index, .success):
                return Delivery(relay: candidates[index].relay, unconfirmedCopies: unconfirmedCopies, hedgedCopies: outstanding.count - 1)
            case .settled(let index, .failure(let error)):
                outstanding.remove(index)
                if let timer = timers.removeValue(forKey: index) { hedgeTimer.cancel(timer) }
                reasons.append(String(describing: error))
                if (error as? RedundancyError)?.mayHaveReachedRelay == true { unconfirmedCopies += 1 }
                if outstanding.isEmpty {
                    guard next < candidates.count else { throw .noRelayAvailable(reasons, unconfirmedCopies: unconfirmedCopies) }
                    await launch()
                }
            case .hedgeDue(let index):
                timers.removeValue(forKey: index)
                guard outstanding.contains(index) else { continue }
                let hedgeTo = outstanding.count < 2 && next < candidates.count ? candidates[next] : nil
                await candidates[index].confirmationOverdue(hedgedThrough: hedgeTo?.relay)
                if hedgeTo != nil { await launch() }
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
