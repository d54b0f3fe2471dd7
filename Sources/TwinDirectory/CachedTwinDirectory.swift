import RMBIdentity
import Synchronization

/// Told of a cache's misses and flushes as they happen: a relay counts them in its metrics
/// (`rmb_cache_misses_total`, `rmb_cache_flushes_total`, relay.md §10).
public protocol TwinCacheObserver: Sendable {
    /// A lookup the cache could not answer (it asks the backend, or joins a request that does).
    func twinCacheMissed()
    /// Everything was forgotten at once (``CachedTwinDirectory/removeAll()``).
    func twinCacheFlushed()
}

/// A caching layer in front of any ``TwinDirectory`` (twins.md §4, known-gaps.md #18): the one
/// twin cache of the peer, the direct peer and the relay.
///
/// Why each piece exists:
/// * a TTL on hits, so a key or relay change on chain is picked up without events;
/// * a separate, shorter TTL on "not found", so unknown ids (typos, attackers, JWTs for twins
///   that do not exist) do not hit the chain every time, yet a new twin appears quickly
///   (known-gaps.md §4: a relay's unauthenticated clients cannot make it repeat chain reads);
/// * a size bound per map (twins by id, ids by account) with LRU eviction, so hostile
///   lookups cannot grow memory;
/// * concurrent misses for the same key share one backend request, so a burst of traffic
///   to a new twin costs one chain read.
///
/// Failures are not cached: every caller of a failed shared request gets the error, and the
/// next call asks the backend again. A caller that is cancelled still waits for the shared
/// request (which belongs to no single caller); the backend's own timeouts bound that wait.
///
/// A hit takes a lock for a dictionary look-up and never suspends: every envelope a peer
/// verifies and every one a relay routes looks its twin up here.
public final class CachedTwinDirectory: TwinDirectory, Sendable {
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
        /// Times everything was forgotten at once (``CachedTwinDirectory/removeAll()``).
        public var flushes = 0
    }

    /// A cached answer; "not found" is an answer too.
    private enum Answer<Value: Sendable>: Sendable {
        case found(Value)
        case notFound

        var value: Value? {
            if case let .found(value) = self { value } else { nil }
        }
    }

    /// A backend request other callers can join. The token tells a finishing request whether
    /// it is still current (not invalidated or superseded) and may store its result.
    private struct InFlight<Value: Sendable>: Sendable {
        let token: UInt64
        let task: Task<Value?, any Error>
    }

    /// What a look-up found under the lock.
    private enum Lookup<Value: Sendable>: Sendable {
        case hit(Value?)
        /// Another caller's backend request for the same key.
        case join(Task<Value?, any Error>)
        /// A backend request this caller started.
        case start(InFlight<Value>)
    }

    private struct State {
        var twins: ExpiringLRUStore<UInt32, Answer<Twin>>
        var twinIDs: ExpiringLRUStore<AccountID, Answer<UInt32>>
        var twinRequests: [UInt32: InFlight<Twin>] = [:]
        var accountRequests: [AccountID: InFlight<UInt32>] = [:]
        var lastToken: UInt64 = 0
        var statistics = Statistics()

        mutating func nextToken() -> UInt64 {
            lastToken &+= 1
            return lastToken
        }

        /// Caches a lookup by id; a found twin also answers lookups by its account.
        mutating func remember(_ twin: Twin?, id: UInt32, at instant: ContinuousClock.Instant, configuration: Configuration) {
            guard let twin else {
                twins.insert(.notFound, for: id, expires: instant + configuration.negativeTTL, now: instant)
                return
            }
            let expires = instant + configuration.positiveTTL
            twins.insert(.found(twin), for: id, expires: expires, now: instant)
            twinIDs.insert(.found(twin.id), for: twin.account, expires: expires, now: instant)
        }
    }

    private let backend: any TwinDirectory
    private let configuration: Configuration
    private let now: @Sendable () -> ContinuousClock.Instant
    private let observer: (any TwinCacheObserver)?
    private let state: Mutex<State>

    /// - Parameters:
    ///   - now: the clock for expiry; inject a fake one in tests.
    ///   - observer: told of misses and flushes (a relay's metrics).
    public init(
        backend: any TwinDirectory,
        configuration: Configuration = Configuration(),
        observer: (any TwinCacheObserver)? = nil,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) {
        self.backend = backend
        self.configuration = configuration
        self.observer = observer
        self.now = now
        state = Mutex(State(twins: ExpiringLRUStore(capacity: configuration.maximumEntries),
                            twinIDs: ExpiringLRUStore(capacity: configuration.maximumEntries)))
    }

    public var statistics: Statistics { state.withLock { $0.statistics } }

    public func twin(id: UInt32) async throws -> Twin? {
        let backend = self.backend, configuration = self.configuration
        return try await lookUp(id, answers: \.twins, requests: \.twinRequests, fetch: { try await backend.twin(id: id) }) { state, twin, at in
            state.remember(twin, id: id, at: at, configuration: configuration)
        }
    }

    public func twinID(account: AccountID) async throws -> UInt32? {
        let backend = self.backend, configuration = self.configuration
        return try await lookUp(account, answers: \.twinIDs, requests: \.accountRequests,
                                fetch: { try await backend.twinID(account: account) }) { state, id, at in
            let ttl = id == nil ? configuration.negativeTTL : configuration.positiveTTL
            state.twinIDs.insert(id.map { .found($0) } ?? .notFound, for: account, expires: at + ttl, now: at)
        }
    }

    /// A look-up by `key` in the map at `answers`: a live answer, else the backend request for
    /// `key` already running (at `requests`), else a new one (`fetch`) whose result `remember`
    /// stores — unless the key was invalidated or stored meanwhile.
    private func lookUp<Key: Hashable & Sendable, Value: Sendable>(
        _ key: Key,
        answers: WritableKeyPath<State, ExpiringLRUStore<Key, Answer<Value>>> & Sendable,
        requests: WritableKeyPath<State, [Key: InFlight<Value>]> & Sendable,
        fetch: @escaping @Sendable () async throws -> Value?,
        remember: @Sendable (inout State, Value?, ContinuousClock.Instant) -> Void
    ) async throws -> Value? {
        let instant = now()
        let lookup = state.withLock { state -> Lookup<Value> in
            if let answer = state[keyPath: answers].value(for: key, now: instant) {
                state.statistics.hits += 1
                return .hit(answer.value)
            }
            state.statistics.misses += 1
            if let pending = state[keyPath: requests][key] {
                state.statistics.sharedMisses += 1
                return .join(pending.task)
            }
            let request = InFlight(token: state.nextToken(), task: Task { try await fetch() })
            state[keyPath: requests][key] = request
            state.statistics.backendRequests += 1
            return .start(request)
        }
        switch lookup {
        case .hit(let value):
            return value
        case .join(let task):
            observer?.twinCacheMissed()
            return try await task.value
        case .start(let request):
            observer?.twinCacheMissed()
            let result = await request.task.result
            let finished = now()
            state.withLock { state in
                guard state[keyPath: requests][key]?.token == request.token else { return }
                state[keyPath: requests][key] = nil
                if case .success(let value) = result { remember(&state, value, finished) }
            }
            return try result.get()
        }
    }

    /// Stores a twin known to be current (e.g. from a `TwinStored`/`TwinUpdated` event).
    /// A request for the same id that is still running will not overwrite it.
    public func store(_ twin: Twin) {
        let instant = now()
        state.withLock { state in
            state.twinRequests[twin.id] = nil
            state.remember(twin, id: twin.id, at: instant, configuration: configuration)
        }
    }

    /// Forgets everything about this twin id, including account entries pointing to it. A
    /// running request for it still answers its callers but is not cached.
    public func invalidate(id: UInt32) {
        state.withLock { state in
            state.twins.removeValue(for: id)
            state.twinRequests[id] = nil
            state.twinIDs.removeAll { _, answer in answer.value == id }
        }
    }

    /// Forgets the cached twin id (or "no twin") for this account.
    public func invalidate(account: AccountID) {
        state.withLock { state in
            state.twinIDs.removeValue(for: account)
            state.accountRequests[account] = nil
        }
    }

    /// Empties the cache (e.g. after missing chain events). Running requests are not cached.
    public func removeAll() {
        state.withLock { state in
            state.twins.removeAll()
            state.twinIDs.removeAll()
            state.twinRequests.removeAll()
            state.accountRequests.removeAll()
            state.statistics.flushes += 1
        }
        observer?.twinCacheFlushed()
    }

    /// The cached answer for `id` without asking the backend or refreshing its recency: the
    /// twin, `.some(nil)` when known missing, nil when not cached (or expired).
    package func peek(id: UInt32) -> Twin?? {
        let instant = now()
        return state.withLock { state -> Twin?? in
            guard let answer = state.twins.peek(for: id, now: instant) else { return nil }
            return .some(answer.value)
        }
    }

    /// Number of twin-by-id entries currently held (live or not yet purged).
    public var cachedTwinCount: Int { state.withLock { $0.twins.count } }

    /// Number of id-by-account entries currently held (live or not yet purged).
    public var cachedAccountCount: Int { state.withLock { $0.twinIDs.count } }
}
