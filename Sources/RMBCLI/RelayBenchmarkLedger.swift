import Foundation

/// Monotonic nanoseconds (CLOCK_MONOTONIC), cheap enough to read once per frame.
func benchNanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// Bookkeeping shared by the sender and receiver task of one session pair: when each slot was
/// sent, the window of envelopes in flight (credits), and the latencies seen inside the
/// measurement interval. A lock, not an actor: it is touched twice per envelope on the hot path.
final class PairLedger: @unchecked Sendable {
    let slots: Int
    private let lock = NSLock()
    private var sentAt: [UInt64]
    private var credits: Int
    private var waiter: CheckedContinuation<Int, Never>?
    /// The sender is woken only once this many credits came back (a closed loop that wakes
    /// its sender for every single credit spends its time switching tasks, not relaying).
    private let wakeThreshold: Int
    private var stopped = false
    private var outstanding = 0
    private var measureFrom: UInt64 = .max
    private var measureUntil: UInt64 = .max
    private(set) var latencies: [UInt64] = []
    private(set) var receivedInWindow = 0
    private(set) var received = 0
    private(set) var sent = 0
    /// Sends skipped because the window was full (fixed-rate mode: the relay fell behind).
    private(set) var skipped = 0

    init(slots: Int, window: Int) {
        self.slots = slots
        sentAt = Array(repeating: 0, count: slots)
        credits = min(window, slots)
        wakeThreshold = max(1, min(window, slots) / 8)
    }

    func setInterval(from: UInt64, until: UInt64) {
        lock.withLock { measureFrom = from; measureUntil = until }
        latencies.reserveCapacity(1 << 16)
    }

    /// Up to `limit` credits, waiting for at least one; 0 once stopped or past the interval.
    func acquire(_ limit: Int) async -> Int {
        let now = benchNanos()
        let granted: Int? = lock.withLock {
            if stopped || now >= measureUntil { stopped = true; return 0 }
            if credits == 0 { return nil }
            let count = min(limit, credits)
            credits -= count
            return count
        }
        if let granted { return granted }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
                let immediate: Int? = lock.withLock {
                    if stopped { return 0 }
                    if credits > 0 {
                        let count = min(limit, credits)
                        credits -= count
                        return count
                    }
                    waiter = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            stop()
        }
    }

    /// One credit without waiting (fixed-rate sender); false when the window is full.
    func tryAcquire() -> Bool {
        lock.withLock {
            guard credits > 0 else { skipped += 1; return false }
            credits -= 1
            return true
        }
    }

    func markSent(_ slot: Int) {
        let now = benchNanos()
        lock.withLock {
            sentAt[slot] = now
            sent += 1
            outstanding += 1
        }
    }

    /// Records the arrival of `slot`; true when the receiver may stop (sender done, nothing in flight).
    func arrived(_ slot: Int) -> Bool {
        let now = benchNanos()
        let (wake, credit, done): (CheckedContinuation<Int, Never>?, Int, Bool) = lock.withLock {
            received += 1
            outstanding -= 1
            let sentTime = sentAt[slot]
            if now >= measureFrom && now < measureUntil {
                receivedInWindow += 1
                if sentTime > 0, now >= sentTime { latencies.append(now - sentTime) }
            }
            credits += 1
            var wake: CheckedContinuation<Int, Never>?
            var credit = 0
            if waiter != nil, credits >= wakeThreshold || stopped {
                wake = waiter
                waiter = nil
                credit = credits
                credits = 0
            }
            return (wake, credit, (stopped || now >= measureUntil) && outstanding <= 0)
        }
        wake?.resume(returning: credit)
        return done
    }

    /// Ends sending: a waiting sender gets 0 credits.
    func stop() {
        let wake: CheckedContinuation<Int, Never>? = lock.withLock {
            stopped = true
            defer { waiter = nil }
            return waiter
        }
        wake?.resume(returning: 0)
    }

    var isDrained: Bool { lock.withLock { stopped && outstanding <= 0 } }
}

/// Opens once every session pair is connected, at one shared instant (plus a settle pause, so
/// the relay has registered the last sessions before the first envelope is sent).
final class StartGate: @unchecked Sendable {
    private let lock = NSLock()
    private let parties: Int
    private var arrived = 0
    private var start: UInt64?

    init(parties: Int) { self.parties = parties }

    /// Arrives and waits until all parties did; returns the common start time.
    func arriveAndWait(settle: Duration = .milliseconds(300)) async throws -> UInt64 {
        lock.withLock {
            arrived += 1
            if arrived == parties {
                let pause = UInt64(settle.components.seconds) * 1_000_000_000 + UInt64(settle.components.attoseconds / 1_000_000_000)
                start = benchNanos() + pause
            }
        }
        while true {
            if let start = lock.withLock({ start }) {
                let now = benchNanos()
                if now < start { try await Task.sleep(for: .nanoseconds(Int(start - now))) }
                return start
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
