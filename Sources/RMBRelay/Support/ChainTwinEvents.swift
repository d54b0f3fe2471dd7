import ServiceLifecycle
import TFChain

extension RelayServer {
    /// Applies a twin change seen on chain to the relay's twin cache, so a relay or key change
    /// is honoured within a finalized block instead of after the cache TTL.
    public func apply(_ change: TwinChange) {
        switch change {
        case .updated(let twin): core.twins.store(twin)
        case .deleted(let id): core.twins.invalidate(id: id)
        case .flushAll: core.twins.removeAll()
        }
    }
}

/// Runs a ``TwinEventFollower`` for a relay until graceful shutdown.
public struct TwinEventService: Service {
    let follower: TwinEventFollower
    let server: RelayServer

    public init(follower: TwinEventFollower, server: RelayServer) {
        self.follower = follower
        self.server = server
    }

    public func run() async throws {
        let follower = self.follower, server = self.server
        await cancelWhenGracefulShutdown {
            await follower.run { change in server.apply(change) }
        }
    }
}
