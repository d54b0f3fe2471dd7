import Foundation
import Logging
import ServiceLifecycle

/// Bounds a graceful shutdown: once it begins, the process exits after `limit` whatever clients,
/// Redis or a stuck task do (a supervisor waiting on SIGTERM must not have to escalate to
/// SIGKILL). The wait runs on its own thread, so a starved or blocked task pool cannot hold it.
/// Shared by rmb-relay and rmb-peer: add it as the last service of the process' `ServiceGroup`.
public struct ShutdownWatchdog: Service {
    let limit: Duration
    let logger: Logger

    public init(limit: Duration, logger: Logger) { self.limit = limit; self.logger = logger }

    public func run() async throws {
        try? await gracefulShutdown()
        guard !Task.isCancelled else { return }
        let limit = self.limit, logger = self.logger
        let thread = Thread {
            Thread.sleep(forTimeInterval: Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18)
            logger.error("shutdown did not finish in time: exiting", metadata: ["limit": "\(limit)"])
            _exit(1)
        }
        thread.start()
    }
}
