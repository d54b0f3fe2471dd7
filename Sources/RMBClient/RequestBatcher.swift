import RedisClient
import Synchronization

/// Pushes the requests of concurrent calls together: while one LPUSH is on its way, requests of
/// other calls gather, and the next LPUSH takes them all. A lone call still costs one round trip;
/// many calls at once cost one per batch instead of one each. No timer: nothing waits for
/// company, a batch is whatever arrived during the previous push.
final class RequestBatcher: Sendable {
    private struct Waiting {
        var requests: [RedisArgument]
        var continuation: CheckedContinuation<Result<Void, RMBCallError>, Never>
    }

    private struct State {
        var waiting: [Waiting] = []
        var pushing = false
    }

    private let state = Mutex(State())
    private let redis: RedisClient
    private let queue: String
    /// Most requests in one LPUSH.
    private let limit: Int

    init(redis: RedisClient, queue: String, limit: Int = 1024) {
        self.redis = redis
        self.queue = queue
        self.limit = limit
    }

    /// Pushes `requests` (in order, in one LPUSH with whatever else is waiting).
    func push(_ requests: [RedisArgument]) async -> Result<Void, RMBCallError> {
        await withCheckedContinuation { continuation in
            let pushNow = state.withLock { state in
                state.waiting.append(Waiting(requests: requests, continuation: continuation))
                if state.pushing { return false }
                state.pushing = true
                return true
            }
            if pushNow { Task { await self.drain() } }
        }
    }

    /// Pushes batches until nothing waits.
    private func drain() async {
        while true {
            let batch: [Waiting] = state.withLock { state in
                var count = 0
                var taken = 0
                for waiting in state.waiting {
                    if taken > 0 && count + waiting.requests.count > limit { break }
                    count += waiting.requests.count
                    taken += 1
                }
                let batch = Array(state.waiting.prefix(taken))
                state.waiting.removeFirst(taken)
                if batch.isEmpty { state.pushing = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            let result: Result<Void, RMBCallError>
            do {
                let reply = try await redis.send(["LPUSH", .string(queue)] + batch.flatMap(\.requests))
                if let error = reply.errorMessage { throw RedisError.server(error) }
                result = .success(())
            } catch {
                result = .failure(.transport("Redis: \(error)"))
            }
            for waiting in batch { waiting.continuation.resume(returning: result) }
        }
    }
}
