import Foundation
import Store

/// The manual clock also drives the store's writer thread: its deferral and linger windows end
/// when a test advances the clock past them, not after real milliseconds.
extension ManualClock: WriterClock {
    public func elapsed() -> Duration { now.offset }

    public func wait(on condition: NSCondition, untilElapsed deadline: Duration) {
        let id = registerThreadWaiter(deadline: deadline, condition: condition)
        guard let id else { return }
        condition.wait()
        removeThreadWaiter(id)
    }
}
