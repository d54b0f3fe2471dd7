import RMBTestSupport
import Substrate
import Testing

/// `Era` against py-scale-codec's vectors (cross-checked there with a transcription of Substrate's Rust).
@Suite struct ExtrinsicEraTests {
    @Test func fixtureLoads() throws {
        let fixture = try #require(EraFixture.shared)
        #expect(fixture.mortal.count >= 10)
        #expect(Era.immortal.encoded.testHex == fixture.immortal)
    }

    @Test(arguments: EraFixture.shared?.mortal ?? [])
    func mortalEraMatches(_ vector: EraFixture.Mortal) throws {
        let era = Era.mortal(period: vector.requested_period, current: vector.current)
        #expect(era == .mortal(period: vector.period, phase: vector.phase))
        #expect(era.encoded.testHex == vector.encoded)
        #expect(era.birthBlock(current: vector.current) == vector.birth_block)
        #expect(era.deathBlock(current: vector.current) == vector.birth_block + vector.period)

        var decoder = ScaleDecoder([UInt8](testHex: vector.encoded))
        #expect(try Era(from: &decoder) == era)
        #expect(decoder.isAtEnd)
    }

    @Test func immortalEra() throws {
        #expect(Era.immortal.encoded == [0])
        #expect(Era.immortal.birthBlock(current: 1234567) == 0)
        #expect(Era.immortal.deathBlock(current: 1234567) == .max)
        var decoder = ScaleDecoder([0, 0xff])
        #expect(try Era(from: &decoder) == .immortal)
        #expect(decoder.offset == 1)
    }

    @Test func clampsAndRounds() {
        #expect(Era.mortal(period: 0, current: 0) == .mortal(period: 4, phase: 0))
        #expect(Era.mortal(period: 3, current: 7) == .mortal(period: 4, phase: 3))
        #expect(Era.mortal(period: 65, current: 130) == .mortal(period: 128, phase: 2))
        #expect(Era.mortal(period: UInt64.max, current: 5) == .mortal(period: 65536, phase: 0))
        #expect(Era.mortal(period: (1 << 63) + 1, current: 17) == .mortal(period: 65536, phase: 16))
    }

    @Test func birthBlockBeforeThePhase() {
        // current below phase: max(current, phase) keeps the subtraction from underflowing.
        #expect(Era.mortal(period: 64, phase: 40).birthBlock(current: 10) == 40)
    }

    @Test func refusesInvalidEncodings() {
        // period 2 (low nibble 0) is below the minimum.
        var low = ScaleDecoder([0x00 | 0x10, 0x00])
        #expect(throws: ExtrinsicError.invalidEra([0x10, 0x00])) { try Era(from: &low) }
        // period 4 (nibble 1) with phase 4 (not below the period).
        var phase = ScaleDecoder([0x41, 0x00])
        #expect(throws: ExtrinsicError.invalidEra([0x41, 0x00])) { try Era(from: &phase) }
        // truncated
        var short = ScaleDecoder([0x75])
        #expect(throws: ExtrinsicError.self) { try Era(from: &short) }
    }
}
