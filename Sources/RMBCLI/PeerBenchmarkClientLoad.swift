import Foundation
import RMBClient

/// The bench's runs with the calls made by an ``RMBCaller`` (what a Swift app uses) instead of
/// the hand-written generator of ``PeerBenchLoad``: each request is one `call`, so the figures
/// include the library's own costs — for ``RMBClient`` one LPUSH per call, JSON, the reply
/// reader; for `RMBDirectPeer` the whole peer in process.
/// Same ledger, same pacing and the same outcome, so the two print side by side.
struct PeerBenchClientLoad: Sendable {
    let client: any RMBCaller
    let destination: UInt32
    let command: String
    let payload: [UInt8]
    let ttl: UInt64
    let pacing: PeerBenchPacing
    let warmup: Duration
    let measure: Duration

    func run() async -> PeerBenchLoad.Outcome {
        let ledger = PeerBenchLedger(prefix: "c")
        let start = peerBenchNanos()
        let measureStart = start + nanos(warmup)
        let measureEnd = measureStart + nanos(measure)
        var paced = PeerBenchFixedRate.Result()
        switch pacing {
        case .closed(let window):
            await withDiscardingTaskGroup { group in
                for _ in 0..<window {
                    group.addTask {
                        while peerBenchNanos() < measureEnd { await call(ledger, due: peerBenchNanos()) }
                    }
                }
            }
        case .fixed(let rate):
            paced = await sendFixed(rate: rate, start: start, until: measureEnd, ledger: ledger)
        }
        return PeerBenchLoad.Outcome(snapshot: ledger.snapshot(), measured: measureStart..<measureEnd, eventAt: nil,
                                     skippedSends: paced.skipped, senderLateness: paced.lateness)
    }

    /// Starts each call at its due time; returns the calls not started because the peer had
    /// stalled, and the generator's lateness.
    private func sendFixed(rate: Double, start: UInt64, until end: UInt64, ledger: PeerBenchLedger) async -> PeerBenchFixedRate.Result {
        await withDiscardingTaskGroup { group in
            // The closure throws only if `send` does, and this one does not.
            (try? await PeerBenchFixedRate(rate: rate, start: start, end: end).run(ledger: ledger) { due, dueTime in
                for index in due {
                    let time = dueTime(index)
                    group.addTask { await call(ledger, due: time) }
                }
            }) ?? PeerBenchFixedRate.Result()
        }
    }

    private func call(_ ledger: PeerBenchLedger, due: UInt64) async {
        let index = ledger.register(count: 1, due: due)
        let isError: Bool
        do {
            _ = try await client.call(twin: destination, command, payload: payload, schema: nil, timeout: .seconds(Int64(ttl)))
            isError = false
        } catch {
            isError = true
        }
        ledger.answer(reference: ledger.prefix + String(index), isError: isError, at: peerBenchNanos())
    }
}
