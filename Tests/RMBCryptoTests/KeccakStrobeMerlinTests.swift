import Testing
import RMBCrypto
import RMBTestSupport

/// Layer by layer, as vectors/README.md recommends: Keccak-f, STROBE, Merlin.
@Suite struct KeccakStrobeMerlinTests {
    let vectors: JSONObject

    init() throws {
        vectors = try Fixtures.json("vectors/sr25519-internals.json")
    }

    @Test func keccakOfZeroState() throws {
        var state = [UInt8](repeating: 0, count: 200)
        #expect(Keccak.f1600(&state))
        #expect(state == (try vectors.object("keccak_f1600").hex("output_200")))
    }

    @Test func keccakRejectsWrongSize() {
        var state = [UInt8](repeating: 0, count: 199)
        #expect(!Keccak.f1600(&state))
        #expect(state == [UInt8](repeating: 0, count: 199))
    }

    @Test func strobeAfterMerlinInit() throws {
        let expected = try vectors.object("strobe128").object("after_init_merlin_v1_0")
        let strobe = Strobe128(protocolLabel: Array("Merlin v1.0".utf8))
        #expect(strobe.stateBytes == (try expected.hex("state_200")))
        #expect(strobe.position == (try expected.int("pos")))
        #expect(strobe.positionBegin == (try expected.int("pos_begin")))
    }

    @Test func strobeConformance() throws {
        let expected = try vectors.object("strobe128").object("conformance")
        var strobe = Strobe128(protocolLabel: Array("Conformance Test Protocol".utf8))
        strobe.metaAD(Array("ms".utf8), more: false)
        strobe.metaAD(Array("g".utf8), more: true)
        strobe.ad([UInt8](repeating: 0x63, count: 1024), more: false)
        strobe.metaAD(Array("prf".utf8), more: false)
        let prf1 = strobe.prf(count: 32, more: false)
        #expect(prf1 == (try expected.hex("prf1")))
        strobe.metaAD(Array("key".utf8), more: false)
        strobe.key(prf1, more: false)
        strobe.metaAD(Array("prf".utf8), more: false)
        #expect(strobe.prf(count: 32, more: false) == (try expected.hex("prf2")))
    }

    @Test func merlinTestProtocolChallenge() throws {
        var transcript = MerlinTranscript(label: "test protocol")
        transcript.appendMessage(label: "some label", Array("some data".utf8))
        let challenge = transcript.challengeBytes(label: "challenge", count: 32)
        #expect(challenge == (try vectors.object("merlin").hex("challenge")))
        // The merlin crate's own published value.
        #expect(challenge.testHex == "d5a21972d0d5fe320c0d263fac7fffb8145aa640af6e9bca177c03c7efcf0615")
    }

    @Test func merlinLongMessagesCrossTheRate() {
        // Messages longer than the STROBE rate must run Keccak-f mid-absorb and still be
        // order-sensitive and deterministic.
        var a = MerlinTranscript(label: "long")
        var b = MerlinTranscript(label: "long")
        a.appendMessage(label: "m", [UInt8](repeating: 1, count: 1000))
        b.appendMessage(label: "m", [UInt8](repeating: 1, count: 1000))
        #expect(a.challengeBytes(label: "c", count: 500) == b.challengeBytes(label: "c", count: 500))
        var c = MerlinTranscript(label: "long")
        c.appendMessage(label: "m", [UInt8](repeating: 1, count: 999) + [2])
        var d = MerlinTranscript(label: "long")
        d.appendMessage(label: "m", [UInt8](repeating: 1, count: 1000))
        #expect(c.challengeBytes(label: "c", count: 32) != d.challengeBytes(label: "c", count: 32))
    }

    @Test func witnessIsBoundToRandomnessSeedsAndLeavesTranscriptAlone() {
        var transcript = MerlinTranscript(label: "witness")
        transcript.appendMessage(label: "x", [1, 2, 3])
        let untouched = transcript
        let seed = [UInt8](repeating: 7, count: 32)
        let rng1 = [UInt8](repeating: 1, count: 32)
        let rng2 = [UInt8](repeating: 2, count: 32)
        let w1 = transcript.witnessBytes(label: "signing", count: 64, nonceSeeds: [seed], randomness: rng1)
        #expect(w1.count == 64)
        #expect(w1 == transcript.witnessBytes(label: "signing", count: 64, nonceSeeds: [seed], randomness: rng1))
        #expect(w1 != transcript.witnessBytes(label: "signing", count: 64, nonceSeeds: [seed], randomness: rng2))
        #expect(w1 != transcript.witnessBytes(label: "signing", count: 64, nonceSeeds: [rng2], randomness: rng1))
        #expect(w1 != transcript.witnessBytes(label: "other", count: 64, nonceSeeds: [seed], randomness: rng1))
        var copy = untouched
        #expect(transcript.challengeBytes(label: "c", count: 32) == copy.challengeBytes(label: "c", count: 32))
        let s1 = try? transcript.witnessScalar(label: "signing", nonceSeeds: [seed])
        let s2 = try? transcript.witnessScalar(label: "signing", nonceSeeds: [seed])
        #expect(s1 != nil && s1 != s2)
    }
}
