/// Wakes a sleeping loop early: `ring()` from producers, `wait(upTo:)` in the consumer. A ring
/// while nobody waits is remembered, so no wake-up is lost.
actor Doorbell {
    private var rung = false
    private var waiter: CheckedContinuation<Void, Never>?
    private var generation: UInt64 = 0

    nonisolated func ringLater() { Task { await self.ring() } }

    func ring() {
        if let waiter {
            self.waiter = nil
            waiter.resume()
        } else {
            rung = true
        }
    }

    func wait(upTo timeout: Duration) async {
        if rung { rung = false; return }
        generation += 1
        let mine = generation
        await withCheckedContinuation { continuation in
            waiter = continuation
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                await self?.expire(mine)
            }
        }
    }

    private func expire(_ generation: UInt64) {
        guard generation == self.generation, let waiter else { return }
        self.waiter = nil
        waiter.resume()
    }
}
