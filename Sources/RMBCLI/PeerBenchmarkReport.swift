import ArgumentParser
import Foundation

/// The printed figures of `rmb bench peer`: one line per run, and the failover analysis.
enum PeerBenchReport {
    static let header = pad("run", 40) + pad("requests/s", 12, right: true) + "   latency ms (p50  p99  p99.9  max)"

    static func line(_ label: String, _ outcome: PeerBenchLoad.Outcome) -> String {
        let latency = outcome.latency
        var notes: [String] = []
        if outcome.unanswered > 0 { notes.append("\(outcome.unanswered) unanswered") }
        if outcome.snapshot.errors > 0 { notes.append("\(outcome.snapshot.errors) error replies") }
        if outcome.skippedSends > 0 { notes.append("\(outcome.skippedSends) sends skipped (100k waiting)") }
        if !outcome.senderLateness.isEmpty {
            // Part of the latency above (it counts from the due time): the generator's, not the system's.
            let late = BenchSamples(nanoseconds: outcome.senderLateness)
            notes.append("generator late p50 \(late.text(0.5)) p99 \(late.text(0.99))")
        }
        return pad(label, 40) + pad(String(format: "%.0f", outcome.throughput), 12, right: true)
            + "   \(latency.text(0.5))  \(latency.text(0.99))  \(latency.text(0.999))  \(latency.text(1.0))"
            + (notes.isEmpty ? "" : "   [" + notes.joined(separator: ", ") + "]")
    }

    /// Failover time and what the kill cost. K is the kill:
    /// - first reply: the first reply to a request sent after K (traffic flows again);
    /// - longest pause: the longest time without any reply from K to the end of sending;
    /// - stranded: requests sent before K and answered more than 1 s after it (they were inside
    ///   the killed relay and came back through the re-send), and those never answered.
    static func failover(_ outcome: PeerBenchLoad.Outcome, pid: Int32) -> [String] {
        guard let kill = outcome.eventAt else { return ["    the kill did not happen (run too short?)"] }
        let snapshot = outcome.snapshot
        let ms = { (nanos: UInt64) in String(format: "%.0f ms", Double(nanos) / 1e6) }
        let afterKill = zip(snapshot.due, snapshot.answeredAt).filter { $0.0 >= kill && $0.1 != 0 }
        let firstReply = afterKill.map(\.1).min()
        // While requests were being sent; the re-sent stragglers come later by design.
        let arrivals = snapshot.answeredAt.filter { $0 >= kill && $0 < outcome.measured.upperBound }.sorted()
        var pause: UInt64 = arrivals.first.map { $0 - kill } ?? 0
        for (a, b) in zip(arrivals, arrivals.dropFirst()) { pause = max(pause, b - a) }
        let secondAfter = BenchSamples(nanoseconds: snapshot.latencies(dueIn: kill..<(kill + 1_000_000_000)))
        let beforeKill = zip(snapshot.due, snapshot.answeredAt).filter { $0.0 < kill }
        let stranded = beforeKill.filter { $0.1 > kill + 1_000_000_000 }
        let lost = snapshot.unanswered(dueIn: 0..<UInt64.max)
        let recovered = stranded.map { $0.1 - kill }.max()
        return [
            "    failover: SIGKILL pid \(pid); first reply to a request sent after the kill "
                + (firstReply.map { "+\(ms($0 - kill))" } ?? "never") + ", longest pause in replies \(ms(pause))",
            "    requests sent in the second after the kill: latency ms \(secondAfter.latencyLine())",
            "    stranded in the killed relay: \(stranded.count) answered after > 1 s (re-send; last at +"
                + (recovered.map(ms) ?? "-") + "), \(lost) never answered",
        ]
    }

    /// The requests due while the relay was frozen: their latency, and how many waited over 1 s.
    static func freeze(_ outcome: PeerBenchLoad.Outcome, pid: Int32, seconds: Int) -> [String] {
        guard let frozenAt = outcome.eventAt else { return ["    the freeze did not happen (run too short?)"] }
        let window = frozenAt..<(frozenAt + UInt64(seconds) * 1_000_000_000)
        let latencies = outcome.snapshot.latencies(dueIn: window)
        let over = latencies.filter { $0 > 1_000_000_000 }.count
        return [
            "    frozen: SIGSTOP pid \(pid) for \(seconds) s; the \(latencies.count) requests sent meanwhile: latency ms "
                + BenchSamples(nanoseconds: latencies).latencyLine() + "; over 1 s: \(over); unanswered: \(outcome.snapshot.unanswered(dueIn: window))",
        ]
    }

    /// Appends one tab-separated line per request due in the measured period (`--latency-log`),
    /// so a tail can be looked at in time: are the slow requests scattered or in bursts?
    static func appendLatencies(_ label: String, _ outcome: PeerBenchLoad.Outcome, to path: String) throws {
        let start = outcome.measured.lowerBound
        var text = ""
        for (due, answered) in zip(outcome.snapshot.due, outcome.snapshot.answeredAt) where outcome.measured.contains(due) {
            let latency = answered == 0 ? "-" : String(format: "%.3f", Double(answered &- due) / 1e6)
            text += label + "\t" + String(format: "%.3f", Double(due - start) / 1e6) + "\t" + latency + "\n"
        }
        guard FileManager.default.fileExists(atPath: path) || FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw ValidationError("--latency-log: cannot write \(path)")
        }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        guard text.count < width else { return text + " " }
        let fill = String(repeating: " ", count: width - text.count)
        return right ? fill + text : text + fill
    }
}
