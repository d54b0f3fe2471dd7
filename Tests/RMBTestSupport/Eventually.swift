import Foundation

/// Waits until `condition` holds (polling), or `timeout`; returns whether it held.
@discardableResult
public func eventually(timeout: Duration, every interval: Duration = .milliseconds(100), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}
