import Logging
import NIOCore
import ServiceLifecycle

/// Finds sessions whose client went silent — a dead NAT mapping, a frozen process, a peer that
/// vanished without a FIN — which would otherwise hold a socket and a registration forever. A
/// session heard from (any frame, pongs included) within the ping interval is left alone; one
/// silent for an interval gets a WebSocket ping; one still silent after a second interval is
/// closed. A client that only receives stays up by answering the pings, as every WebSocket
/// client does. One sweep over the registered sessions every third of an interval: no timer
/// per idle session.
struct SessionLiveness: Service {
    enum Verdict: Equatable { case alive, ping, close }

    let core: RelayCore

    /// What to do with a session last heard at `heard` and last pinged at `pinged` (nanoseconds
    /// on the relay's stopwatch, as `now`).
    static func verdict(heard: UInt64, pinged: UInt64, now: UInt64, interval: UInt64) -> Verdict {
        let silent = now > heard ? now - heard : 0
        if silent >= 2 * interval { return .close }
        if silent >= interval && pinged <= heard { return .ping }
        return .alive
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            let interval = core.configuration.limits.pingInterval
            let tick = max(interval / 3, .milliseconds(50))
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                try? await core.clock.sleep(for: tick, tolerance: nil)
                sweep(now: UInt64(core.stopwatch.elapsed().nanoseconds))
            }
        }
    }

    /// Pings or closes the sessions that need it; returns how many of each.
    @discardableResult
    func sweep(now: UInt64) -> (pinged: Int, closed: Int) {
        let interval = UInt64(max(1, core.configuration.limits.pingInterval.nanoseconds))
        var pinged = 0, closed = 0
        for session in core.registry.all {
            let (heard, lastPing) = session.liveness
            switch Self.verdict(heard: heard, pinged: lastPing, now: now, interval: interval) {
            case .alive:
                break
            case .ping:
                session.pinged(at: now)
                session.enqueue(.control(.ping, session.channel.allocator.buffer(capacity: 0)))
                pinged += 1
            case .close:
                core.metrics.connectionTimedOut(.ping)
                core.logThrottle.log("timeout.ping", level: .info, "closing a session that answered no ping",
                                     metadata: ["session": "\(session.id)"], to: core.logger)
                session.terminate()
                closed += 1
            }
        }
        return (pinged, closed)
    }
}

extension Duration {
    /// Whole nanoseconds (saturating), as sessions keep their liveness times.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled + attoseconds / 1_000_000_000
    }
}
