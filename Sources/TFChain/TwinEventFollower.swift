import Logging
import ProcessLifecycle
import Substrate
import SubstrateRPC

/// Follows **finalized** blocks and reports twin changes from `TfgridModule` events, so a
/// relay's cache is refreshed within a block of a change (known-gaps §18: the reference
/// follows best blocks, so a fork can leave wrong data, and ignores `TwinDeleted`).
///
/// A gap after a reconnect is replayed block by block when it is at most `catchUpLimit`
/// blocks, otherwise the cache is flushed; a runtime upgrade is picked up by reloading the
/// metadata when events stop decoding. The cache stays a performance layer: every change it
/// could miss is bounded by its own TTL. The stall timeout and the back-off run on the client's
/// clock.
public struct TwinEventFollower: Sendable {
    public struct Configuration: Sendable {
        /// Longest gap (in blocks) replayed after a reconnect; beyond it the cache is flushed.
        public var catchUpLimit: UInt64 = 600
        /// No new finalized head for this long → resubscribe (possibly on another node).
        public var stallTimeout: Duration = .seconds(30)
        /// Reconnect backoff: starts at `minimumBackoff`, doubles up to `maximumBackoff`.
        public var minimumBackoff: Duration = .seconds(1)
        public var maximumBackoff: Duration = .seconds(6)

        public init() {}
    }

    private let client: TFChainClient
    private let configuration: Configuration
    private let logger: Logger

    public init(client: TFChainClient, configuration: Configuration = .init(), logger: Logger = Logger(label: "rmb.tfchain.events")) {
        self.client = client
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs until cancelled, calling `apply` for each change in block order.
    public func run(apply: @escaping @Sendable (TwinChange) async -> Void) async {
        let progress = FollowerProgress(stopwatch: Stopwatch(client.clock))
        var backoff = configuration.minimumBackoff
        while !Task.isCancelled {
            do {
                try await followOnce(progress: progress, apply: apply)
                backoff = configuration.minimumBackoff
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                logger.warning("tfchain event subscription interrupted, retrying", metadata: ["error": "\(error)", "retry_in": "\(backoff)"])
                try? await client.clock.sleep(for: backoff, tolerance: nil)
                backoff = min(backoff * 2, configuration.maximumBackoff)
            }
        }
    }

    /// One subscription: processes heads until it ends, stalls or fails.
    private func followOnce(progress: FollowerProgress, apply: @escaping @Sendable (TwinChange) async -> Void) async throws {
        let heads = try await client.rpc.subscribeFinalizedHeads()
        // A new subscription gets a whole stall timeout, however long the last one was silent.
        await progress.touch()
        let stallTimeout = configuration.stallTimeout, clock = client.clock
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await header in heads {
                    await progress.touch()
                    try await process(upTo: header.number, progress: progress, apply: apply)
                }
                throw FollowerError.subscriptionEnded
            }
            group.addTask {
                while true {
                    try await clock.sleep(for: stallTimeout / 4, tolerance: nil)
                    if await progress.idle > stallTimeout { throw FollowerError.stalled(stallTimeout) }
                }
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Handles every block after the last one processed, up to `number`.
    private func process(upTo number: UInt64, progress: FollowerProgress, apply: @Sendable (TwinChange) async -> Void) async throws {
        guard let last = await progress.lastBlock else {
            try await processBlock(number, apply: apply)
            await progress.done(number)
            return
        }
        guard number > last else { return }
        if number - last - 1 > configuration.catchUpLimit {
            logger.warning("missed too many blocks, flushing the twin cache", metadata: ["from": "\(last + 1)", "to": "\(number - 1)"])
            await apply(.flushAll)
            try await processBlock(number, apply: apply)
            await progress.done(number)
            return
        }
        for block in (last + 1)...number {
            try await processBlock(block, apply: apply)
            await progress.done(block)
        }
    }

    /// Reads and applies the twin events of one block. Undecodable events (after one metadata
    /// reload) flush the cache instead of silently keeping stale entries.
    private func processBlock(_ number: UInt64, apply: @Sendable (TwinChange) async -> Void) async throws {
        let hash = try await client.rpc.blockHash(number: number)
        let runtime = try await client.cachedRuntime()
        guard let raw = try await client.rpc.storage(key: runtime.systemEventsKey, at: hash) else { return }
        let events: [DecodedEvent]
        do {
            events = try runtime.events.decode(raw)
        } catch {
            // Perhaps a runtime upgrade: check the version (reloading metadata if it changed), retry once.
            let reloaded = try await client.runtime().runtime
            guard let decoded = try? reloaded.events.decode(raw) else {
                logger.error("cannot decode the events of block \(number), flushing the twin cache", metadata: ["error": "\(error)"])
                await apply(.flushAll)
                return
            }
            events = decoded
        }
        for event in events where event.palletName == TFChainRuntime.pallet {
            switch event.eventName {
            case "TwinStored", "TwinUpdated":
                do {
                    let record = try TwinRecord(scale: event.fields)
                    await apply(.updated(record.twin))
                } catch {
                    logger.error("undecodable \(event.eventName) in block \(number)", metadata: ["error": "\(error)"])
                    await apply(.flushAll)
                }
            case "TwinDeleted":
                var decoder = ScaleDecoder(event.fields)
                if let id = try? decoder.decodeU32() { await apply(.deleted(id)) } else { await apply(.flushAll) }
            default:
                continue
            }
        }
    }
}

enum FollowerError: Error, CustomStringConvertible {
    case subscriptionEnded
    case stalled(Duration)

    var description: String {
        switch self {
        case .subscriptionEnded: "the node ended the finalized-heads subscription"
        case .stalled(let timeout): "no finalized head for \(timeout)"
        }
    }
}

/// The last block handled and when the subscription last showed life (on the client's clock).
private actor FollowerProgress {
    private(set) var lastBlock: UInt64?
    private let stopwatch: Stopwatch
    private var lastActivity: Duration

    init(stopwatch: Stopwatch) {
        self.stopwatch = stopwatch
        lastActivity = stopwatch.elapsed()
    }

    func touch() { lastActivity = stopwatch.elapsed() }
    func done(_ block: UInt64) { lastBlock = block }
    var idle: Duration { stopwatch.elapsed() - lastActivity }
}
