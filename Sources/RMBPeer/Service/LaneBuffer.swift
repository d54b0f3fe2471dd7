/// A FIFO between two stages of the downstream path (the frame reader and a lane, a lane's
/// recorder and its pusher): the consumer takes everything that arrived since its last round, so
/// one store commit or one Redis pipeline covers a whole batch.
actor LaneBuffer<Element: Sendable> {
    private var items: [Element] = []
    private var waiter: CheckedContinuation<[Element], Never>?
    /// Producers waiting for the consumer to catch up (see `append(_:waitingBelow:)`).
    private var producers: [CheckedContinuation<Void, Never>] = []
    private var finished = false

    func append(_ item: Element) {
        if let waiter {
            self.waiter = nil
            waiter.resume(returning: [item])
        } else {
            items.append(item)
        }
    }

    /// Appends, then waits while `limit` or more elements are still buffered: backpressure for a
    /// producer that could otherwise run ahead of a slow consumer without bound.
    func append(_ item: Element, waitingBelow limit: Int) async {
        append(item)
        while items.count >= limit && !finished {
            await withCheckedContinuation { producers.append($0) }
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
        resumeProducers()
    }

    /// Everything buffered (at most `limit`), waiting for at least one; empty once finished.
    func takeBatch(limit: Int) async -> [Element] {
        if !items.isEmpty {
            let batch = Array(items.prefix(limit))
            items.removeFirst(batch.count)
            resumeProducers()
            return batch
        }
        if finished { return [] }
        return await withCheckedContinuation { waiter = $0 }
    }

    private func resumeProducers() {
        let waiting = producers
        producers = []
        for producer in waiting { producer.resume() }
    }
}
