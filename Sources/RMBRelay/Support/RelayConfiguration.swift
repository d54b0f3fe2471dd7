import TwinDirectory

/// Everything a relay instance needs to know; the CLI (§12) fills it from flags.
public struct RelayConfiguration: Sendable {
    /// Our own domain names (`--domain`): a twin listing one of them is served here.
    public var domains: [String]
    public var redisURL: String
    public var host: String
    /// 0 picks a free port (tests read it back from `RelayServer.boundPort`).
    public var port: Int
    public var workers: Int
    public var usersPerWorker: Int
    /// `--limit <count> <size>`: envelopes and bytes per twin per 60 s window (§9).
    public var rateLimit: RateLimit?
    public var rankerPeriod: Duration
    /// Largest WebSocket message (after reassembly of fragments) accepted from a client.
    public var maxFrameSize: Int
    /// Largest federation body accepted on `POST /`.
    public var maxBodySize: Int
    /// Optional maximum `exp - iat` of a session token, in seconds.
    public var maxTokenLifetime: UInt64?
    /// How long a session's presence key lives without a heartbeat.
    public var presenceTTL: Duration
    /// Entries pending in the federation group this long are reclaimed (XAUTOCLAIM);
    /// `--federation-reclaim-idle`.
    public var federationReclaimIdle: Duration
    /// A foreign consumer of the federation group with nothing pending and idle this long belongs
    /// to a dead process and is deleted (each restart adds a consumer name); nil = 10 × the
    /// reclaim idle time, at least 5 min (`federationConsumerExpiry`). Settable for tests.
    public var federationConsumerIdleLimit: Duration? = nil
    /// How often the federation worker looks for such consumers.
    public var federationConsumerCleanupPeriod: Duration = .seconds(60)
    /// Per-connection outgoing buffer (frames); overflow goes to the session's stream.
    public var outboundBuffer: Int
    /// Circuit breaker per federation domain: first cool-down once open, doubled while the domain
    /// keeps failing up to the maximum (known-gaps §17).
    public var breakerCooldown: Duration = .seconds(5)
    public var breakerMaxCooldown: Duration = .seconds(60)
    /// `--federation-limit <count> <size>`: envelopes and bytes accepted on `POST /` per
    /// destination twin per 60 s window (known-gaps §5); nil = unlimited, as the reference.
    public var federationLimit: RateLimit? = Self.defaultFederationLimit
    /// Generous: ~166 envelopes/s sustained for one twin, far above what a peer consumes, but a
    /// flood from other relays gets 429s instead of pushing a twin's queue past its MAXLEN trim.
    /// Serve `wss://` and `https://` on the port (`--tls-cert`, `--tls-key`); nil = plain TCP,
    /// for a relay behind a TLS-terminating proxy.
    public var tls: ServerTLS? = nil
    /// How long a graceful shutdown may wait for sessions to clean up (`--shutdown-timeout`).
    public var shutdownTimeout: Duration = .seconds(10)
    /// Deadlines of each connection stage and connection caps.
    public var limits = ConnectionLimits()
    public static let defaultFederationLimit = RateLimit(count: 10_000, size: 256 << 20)

    public struct RateLimit: Sendable, Equatable {
        public var count: Int
        public var size: Int
        public init(count: Int, size: Int) { self.count = count; self.size = size }
    }

    public init(domains: [String] = [], redisURL: String = "redis://localhost:6379", host: String = "::", port: Int = 8080,
                workers: Int = 500, usersPerWorker: Int = 1000, rateLimit: RateLimit? = nil,
                rankerPeriod: Duration = .seconds(3600), maxFrameSize: Int = 4 << 20, maxBodySize: Int = 4 << 20,
                maxTokenLifetime: UInt64? = nil, presenceTTL: Duration = .seconds(30),
                federationReclaimIdle: Duration = .seconds(15), outboundBuffer: Int = 1024) {
        self.domains = domains; self.redisURL = redisURL; self.host = host; self.port = port
        self.workers = max(1, workers); self.usersPerWorker = max(1, usersPerWorker); self.rateLimit = rateLimit
        self.rankerPeriod = rankerPeriod; self.maxFrameSize = maxFrameSize; self.maxBodySize = maxBodySize
        self.maxTokenLifetime = maxTokenLifetime; self.presenceTTL = presenceTTL
        self.federationReclaimIdle = federationReclaimIdle; self.outboundBuffer = max(16, outboundBuffer)
    }

    /// Generous, so a live but busy sibling is never taken for dead: 10 × the reclaim idle time,
    /// at least 5 minutes.
    var federationConsumerExpiry: Duration {
        federationConsumerIdleLimit ?? max(federationReclaimIdle * 10, .seconds(300))
    }

    /// `max_users = workers × user_per_worker` (§3).
    public var maxUsers: Int { workers.multipliedReportingOverflow(by: usersPerWorker).overflow ? Int.max : workers * usersPerWorker }
    /// `wiggle = max(workers*10/100, 8)`; federation concurrency `F = 2*wiggle` (§12), capped here
    /// because one process runs them as tasks, not as Redis connections.
    public var federationConcurrency: Int { min(2 * max(workers * 10 / 100, 8), 64) }

    /// Whether a twin's relay entry names one of our domains (exact, case-sensitive).
    func servesRelay(_ relay: RelayAddress) -> Bool {
        domains.contains { $0 == relay.host || $0 == relay.authority || $0 == relay.canonical }
    }
}
