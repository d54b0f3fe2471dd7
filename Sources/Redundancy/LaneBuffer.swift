/// A FIFO between two stages that run at their own pace (a relay connection's reader and the
/// peer's downstream path; a downstream lane and its recorder): the consumer takes everything
/// that arrived since its last round, so one store commit or one Redis pipeline covers a whole
/// batch. A producer that would run ahead of a slow consumer waits instead
/// (``append(_:waitingBelow:)``): nothing is dropped, and the wait propagates upstream — for a
/// relay connection, to the socket, whose unread bytes then hold the relay back. The bound is a
/// count and, for elements whose size varies (frames up to megabytes), a weight in bytes.
public actor LaneBuffer<Element: Sendable> {
    private var items: [Element] = []
    /// The weight of an element (its bytes), for ``append(_:waitingBelow:weightBelow:)``.
    private let weigh: @Sendable (Element) -> Int
    /// Total weight of the elements buffered and not taken yet.
    public private(set) var weight = 0
    /// Index of the first element not taken yet: taking is O(1) amortized, not a removeFirst.
    private var head = 0
    private var waiter: CheckedContinuation<[Element], Never>?
    /// Producers waiting for the consumer to catch up (see `append(_:waitingBelow:)`).
    private var producers: [CheckedContinuation<Void, Never>] = []
    private var finished = false

    public init(weigh: @escaping @Sendable (Element) -> Int = { _ in 0 }) {
        self.weigh = weigh
    }

    /// Elements buffered and not taken yet.
    public var count: Int { items.count - head }

    public func append(_ item: Element) {
        if let waiter {
            self.waiter = nil
            waiter.resume(returning: [item])
        } else {
            items.append(item)
            weight += weigh(item)
        }
    }

    /// Appends, then waits while `limit` or more elements, or `weightLimit` or more bytes, are
    /// still buffered: backpressure for a producer that could otherwise run ahead of a slow
    /// consumer without bound. One element heavier than `weightLimit` waits until it is taken.
    public func append(_ item: Element, waitingBelow limit: Int, weightBelow weightLimit: Int = .max) async {
        append(item)
        while (count >= limit || weight >= weightLimit) && !finished {
            await withCheckedContinuation { producers.append($0) }
        }
    }

    public func append(contentsOf elements: [Element]) {
        guard !elements.isEmpty else { return }
        if let waiter {
            self.waiter = nil
            waiter.resume(returning: elements)
        } else {
            items += elements
            for element in elements { weight += weigh(element) }
        }
    }

    /// No more elements: the consumer gets what is buffered, then empty batches; producers stop waiting.
    public func finish() {
        finished = true
        waiter?.resume(returning: [])
        waiter = nil
        resumeProducers()
    }

    /// Everything buffered (at most `limit`), waiting for at least one; empty once finished.
    public func takeBatch(limit: Int) async -> [Element] {
        if count > 0 {
            let end = min(items.count, head + max(1, limit))
            let batch = Array(items[head..<end])
            for element in batch { weight -= weigh(element) }
            head = end
            if head == items.count {
                items.removeAll(keepingCapacity: items.count <= 4096)
                head = 0
            } else if head >= 4096 && head * 2 >= items.count {
                items.removeFirst(head)
                head = 0
            }
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
