import RMBIdentity

/// A caching layer in front of any ``TwinDirectory`` (twins.md §4, known-gaps.md #18).
///
/// Why each piece exists:
/// * a TTL on hits, so a key or relay change on chain is picked up without events;
/// * a separate, shorter TTL on "not found", so unknown ids (typos, attackers, JWTs for twins
///   that do not exist) do not hit the chain every time, yet a new twin appears quickly;
/// * a size bound per map (twins by id, ids by account) with LRU eviction, so hostile
///   lookups cannot grow memory;
/// * concurrent misses for the same key share one backend request, so a burst of traffic
///   to a new twin costs one chain read.
///
/// Failures are not cached: every caller of a failed shared request gets the error, and the
/// next call asks the backend again. A caller that is cancelled still waits for the shared
/// request (which belongs to no single caller); the backend's own timeouts bound that wait.
public actor CachedTwinDirectory: TwinDirectory {
    /// Lifetimes and size. Defaults follow the original peer (500 entries, 5 minutes).
    public struct Configuration: Sendable {
        public var positiveTTL: Duration
        public var negativeTTL: Duration
        /// Maximum entries in each of the two maps (twins by id, twin ids by account).
        public var maximumEntries: Int

        public init(positiveTTL: Duration = .seconds(300), negativeTTL: Duration = .seconds(30), maximumEntries: Int = 500) {
            self.positiveTTL = positiveTTL
            self.negativeTTL = negativeTTL
            self.maximumEntries = maximumEntries
        }
    }

    /// Counters for metrics and tests.
    public struct Statistics: Sendable, Equatable {
        public var hits = 0
        public var misses = 0
        /// Misses that joined another caller's backend request instead of making one.
        public var sharedMisses = 0
        public var backendRequests = 0
    }

    /// A cached answer; "not found" is an answer too.
    private enum Answer<Value: Sendable> {
        case found(Value)
        case notFound

        var value: Value? {
            if case let .found(value) = self { value } else { nil }
        }
    }

    /// A backend request other callers can join. The token tells a finishing request whether
    /// it is still current (not invalidated or superseded) and may store its result.
    private struct InFlight<Value: Sendable> {
        let token: UInt64
        let task: Task<Value?, any Error>
    }

    private let backend: any TwinDirectory
    private let configuration: Configuration
    private let now: @Sendable () -> ContinuousClock.Instant
    private var twins: ExpiringLRUStore<UInt32, Answer<Twin>>
    private var twinIDs: ExpiringLRUStore<AccountID, Answer<UInt32>>
    private var twinRequests: [UInt32: InFlight<Twin>] = [:]
    private var accountRequests: [AccountID: InFlight<UInt32>] = [:]
    private var lastToken: UInt64 = 0
    public private(set) var statistics = Statistics()

    /// - Parameter now: the clock for expiry; inject a fake one in tests.
    public init(
        backend: any TwinDirectory,
        configuration: Configuration = Configuration(),
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) {
        self.backend = backend
        self.configuration = configuration
        self.now = now
        self.twins = ExpiringLRUStore(capacity: configuration.maximumEntries)
        self.twinIDs = ExpiringLRUStore(capacity: configuration.maximumEntries)
    }

    public func twin(id: UInt32) async throws -> Twin? {
        if let answer = twins.value(for: id, now: now()) {
            statistics.hits += 1
            return answer.value
        }
        statistics.misses += 1
        if let pending = twinRequests[id] {
            statistics.sharedMisses += 1
            return try await pending.task.value
        }
        let backend = self.backend
        let request = InFlight(token: nextToken(), task: Task { try await backend.twin(id: id) })
        twinRequests[id] = request
        statistics.backendRequests += 1

        let result: Result<Twin?, any Error> = await request.task.result
        guard twinRequests[id]?.token == request.token else { return try result.get() }
        twinRequests[id] = nil
        let twin = try result.get()
        remember(twin, id: id)
        return twin
    }

    public func twinID(account: AccountID) async throws -> UInt32? {
        if let answer = twinIDs.value(for: account, now: now()) {
            statistics.hits += 1
            return answer.value
        }
        statistics.misses += 1
        if let pending = accountRequests[account] {
            statistics.sharedMisses += 1
            return try await pending.task.value
        }
        let backend = self.backend
        let request = InFlight(token: nextToken(), task: Task { try await backend.twinID(account: account) })
        accountRequests[account] = request
        statistics.backendRequests += 1

        let result: Result<UInt32?, any Error> = await request.task.result
        guard accountRequests[account]?.token == request.token else { return try result.get() }
        accountRequests[account] = nil
        let id = try result.get()
        let instant = now()
        let answer: Answer<UInt32> = id.map { .found($0) } ?? .notFound
        twinIDs.insert(answer, for: account, expires: instant + (id == nil ? configuration.negativeTTL : configuration.positiveTTL), now: instant)
        return id
    }

    /// Stores a twin known to be current (e.g. from a `TwinStored`/`TwinUpdated` event).
    /// A request for the same id that is still running will not overwrite it.
    public func store(_ twin: Twin) {
        twinRequests[twin.id] = nil
        remember(twin, id: twin.id)
    }

    /// Forgets everything about this twin id, including account entries pointing to it. A
    /// running request for it still answers its callers but is not cached.
    public func invalidate(id: UInt32) {
        twins.removeValue(for: id)
        twinRequests[id] = nil
        twinIDs.removeAll { _, answer in answer.value == id }
    }

    /// Forgets the cached twin id (or "no twin") for this account.
    public func invalidate(account: AccountID) {
        twinIDs.removeValue(for: account)
        accountRequests[account] = nil
    }

    /// Empties the cache (e.g. after missing chain events). Running requests are not cached.
    public func removeAll() {
        twins.removeAll()
        twinIDs.removeAll()
        twinRequests.removeAll()
        accountRequests.removeAll()
    }

    /// Number of twin-by-id entries currently held (live or not yet purged).
    public var cachedTwinCount: Int { twins.count }

    /// Number of id-by-account entries currently held (live or not yet purged).
    public var cachedAccountCount: Int { twinIDs.count }

    // MARK: Private

    private func nextToken() -> UInt64 {
        lastToken &+= 1
        return lastToken
    }

    /// Caches a lookup by id; a found twin also answers lookups by its account.
    private func remember(_ twin: Twin?, id: UInt32) {
        let instant = now()
        guard let twin else {
            twins.insert(.notFound, for: id, expires: instant + configuration.negativeTTL, now: instant)
            return
        }
        let expires = instant + configuration.positiveTTL
        twins.insert(.found(twin), for: id, expires: expires, now: instant)
        twinIDs.insert(.found(twin.id), for: twin.account, expires: expires, now: instant)
    }
}
