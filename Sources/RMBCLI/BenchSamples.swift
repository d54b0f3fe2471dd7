import Foundation

/// Samples sorted once and read by rank: the one percentile code of every `rmb bench` report,
/// for latencies (taken in nanoseconds, read in milliseconds) and per-round figures alike.
struct BenchSamples: Sendable {
    /// Ascending.
    let sorted: [Double]

    init(_ values: some Sequence<Double>) { sorted = values.sorted() }

    /// Nanosecond samples, held in milliseconds.
    init(nanoseconds: some Sequence<UInt64>) { self.init(nanoseconds.lazy.map { Double($0) / 1e6 }) }

    /// Nearest rank: the smallest sample with at least `p` of all samples at or below it
    /// (`1.0` is the maximum); `nil` without samples.
    func percentile(_ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((Double(sorted.count) * p).rounded(.up)) - 1
        return sorted[min(sorted.count - 1, max(0, rank))]
    }

    /// The middle sample, or the mean of the two middle ones: with 2 or 4 rounds a rank would
    /// report the lower middle value as the typical one.
    var median: Double? {
        guard !sorted.isEmpty else { return nil }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// `percentile(p)` printed with `format`, or "-" without samples.
    func text(_ p: Double, format: String = "%.2f") -> String {
        percentile(p).map { String(format: format, $0) } ?? "-"
    }

    /// The latency columns of the bench reports, in milliseconds: p50, p99, p99.9 and, with
    /// `maximum`, the largest sample.
    func latencyLine(format: String = "%.2f", maximum: Bool = true) -> String {
        "p50 \(text(0.5, format: format))  p99 \(text(0.99, format: format))  p99.9 \(text(0.999, format: format))"
            + (maximum ? "  max \(text(1.0, format: format))" : "")
    }
}
