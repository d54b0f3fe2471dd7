@testable import RMBCLI
import Testing

/// The bench's one percentile code: nearest rank over samples in any order, nanoseconds read
/// in milliseconds, and the median of rounds (mean of the two middle ones for an even count).
struct BenchSamplesTests {
    @Test func nearestRankOverUnsortedSamples() {
        let samples = BenchSamples((1...100).reversed().map(Double.init))
        #expect(samples.percentile(0.5) == 50)
        #expect(samples.percentile(0.99) == 99)
        #expect(samples.percentile(0.999) == 100)
        #expect(samples.percentile(1.0) == 100)
        #expect(samples.percentile(0) == 1)
        #expect(BenchSamples([7]).percentile(0.99) == 7)
    }

    @Test func nanosecondsAreReadInMilliseconds() {
        let samples = BenchSamples(nanoseconds: [3_000_000, 1_500_000, 2_250_000])
        #expect(samples.sorted == [1.5, 2.25, 3])
        #expect(samples.text(0.5) == "2.25")
        #expect(samples.text(0.5, format: "%.3f") == "2.250")
        #expect(samples.latencyLine() == "p50 2.25  p99 3.00  p99.9 3.00  max 3.00")
        #expect(samples.latencyLine(format: "%.3f", maximum: false) == "p50 2.250  p99 3.000  p99.9 3.000")
    }

    @Test func noSamplesReadAsNothing() {
        let empty = BenchSamples([])
        #expect(empty.sorted.isEmpty && empty.percentile(0.5) == nil && empty.median == nil)
        #expect(empty.text(0.99) == "-")
    }

    @Test func medianOfOddAndEvenCounts() {
        #expect(BenchSamples([1.8, 0.84, 1.5]).median == 1.5)
        #expect(BenchSamples([1.1, 1.7, 1.3, 1.5]).median == 1.4)
        // Nearest rank would say 1.3 here: the lower middle round.
        #expect(BenchSamples([1.1, 1.7, 1.3, 1.5]).percentile(0.5) == 1.3)
    }
}
