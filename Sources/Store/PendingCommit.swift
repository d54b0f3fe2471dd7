import Synchronization

/// A write queued with ``Store/enqueue(_:)``: it holds its place in the writer's queue from the
/// moment `enqueue` returned, and its outcome is awaited later with ``results()``.
///
/// Why: a caller may start work that must come after the write is queued (so that anything it
/// submits later is applied after it), without waiting for the write's fsync first.
public final class PendingCommit: Sendable {
    private enum State {
        case waiting(CheckedContinuation<[StoreOperationResult], any Error>?)
        case done(Result<[StoreOperationResult], StoreError>)
    }

    private let state = Mutex(State.waiting(nil))

    init() {}

    /// Called once by the writer when the write is durable or failed.
    func complete(_ result: Result<[StoreOperationResult], StoreError>) {
        let waiter: CheckedContinuation<[StoreOperationResult], any Error>? = state.withLock { state in
            guard case let .waiting(waiter) = state else { return nil }
            state = .done(result)
            return waiter
        }
        waiter?.resume(with: result.mapError { $0 as any Error })
    }

    /// One result per operation once the write is durable; its error if it failed. May be called
    /// by one waiter at a time (a second concurrent waiter would replace the first).
    public func results() async throws(StoreError) -> [StoreOperationResult] {
        do {
            return try await withCheckedThrowingContinuation { continuation in
                let finished: Result<[StoreOperationResult], StoreError>? = state.withLock { state in
                    switch state {
                    case .done(let result):
                        return result
                    case .waiting:
                        state = .waiting(continuation)
                        return nil
                    }
                }
                if let finished { continuation.resume(with: finished.mapError { $0 as any Error }) }
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.storage(String(describing: error))
        }
    }
}
