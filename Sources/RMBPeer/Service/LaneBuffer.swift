/// A FIFO between the frame reader and one downstream lane: the lane takes everything that
/// arrived since its last round, so one store commit covers a whole batch.
actor LaneBuffer<Element: Sendable> {
    private var items: [Element] = []
    private var waiter: CheckedContinuation<[Element], Never>?
    private var finished = false

    func append(_ item: Element) {
        if let waiter {
            self.waiter = nil
            waiter.resume(returning: [item])
        } else {
            items.append(item)
        }
    }

    func append(contentsOf elements: [Element]) {
        guard !elements.isEmpty else { return }
        if let waiter {
            self.waiter = nil
            waiter.resume(returning: elements)
        } else {
            items += elements
        }
    }

    func finish() {
        finished = true
        waiter?.resume(returning: [])
        waiter = nil
    }

    /// Everything buffered (at most `limit`), waiting for at least one; empty once finished.
    func takeBatch(limit: Int) async -> [Element] {
        if !items.isEmpty {
            let batch = Array(items.prefix(limit))
            items.removeFirst(batch.count)
            return batch
        }
        if finished { return [] }
        return await withCheckedContinuation { waiter = $0 }
    }
}
