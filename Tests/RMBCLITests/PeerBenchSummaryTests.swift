@testable import RMBCLI
import Testing

/// The paired benchmark's summary line: the median of the rounds (the middle one, or the mean
/// of the two middle ones) and their range, whatever order the rounds came in.
struct PeerBenchSummaryTests {
    @Test func medianAndRangeOfTheRounds() {
        #expect(PeerBench.summary("ratio", [1.8, 0.84, 1.5], format: "%.2f") == "ratio median 1.50 (0.84–1.80)")
        #expect(PeerBench.summary("ratio", [1.1, 1.7, 1.3, 1.5], format: "%.2f") == "ratio median 1.40 (1.10–1.70)")
        #expect(PeerBench.summary("p99", [4.25], format: "%.1f") == "p99 median 4.2 (4.2–4.2)")
        #expect(PeerBench.summary("p99", [], format: "%.2f") == "p99 -")
    }
}
