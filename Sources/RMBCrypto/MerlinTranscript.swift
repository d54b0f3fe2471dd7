/// A Merlin transcript (merlin crate 3.x): the Fiat–Shamir hash that schnorrkel (sr25519) uses
/// for signing contexts, challenges, witnesses and hard key derivation.
///
/// Value semantics: copying a transcript forks it, which is how witnesses are derived without
/// disturbing the main transcript.
public struct MerlinTranscript: Sendable {
    /// STROBE after `init("Merlin v1.0")`; identical for every transcript, so computed once.
    private static let base = Strobe128(protocolLabel: Array("Merlin v1.0".utf8))

    private var strobe: Strobe128

    /// `Transcript::new(label)`: STROBE init `"Merlin v1.0"`, then `append_message("dom-sep", label)`.
    public init(label: String) {
        strobe = Self.base
        withBytes(label) { label in
            withBytes("dom-sep") { appendMessage(rawLabel: $0, label) }
        }
    }

    /// `append_message(label, message)`: `meta_ad(label)`, `meta_ad(le32(len), more)`, `ad(message)`.
    public mutating func appendMessage(label: String, _ message: [UInt8]) {
        message.withUnsafeBytes { message in
            withBytes(label) { appendMessage(rawLabel: $0, message) }
        }
    }

    /// `challenge_bytes(label, count)`: `meta_ad(label)`, `meta_ad(le32(count), more)`, `prf(count)`.
    public mutating func challengeBytes(label: String, count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: max(0, count))
        out.withUnsafeMutableBytes { out in
            withBytes(label) { strobe.metaAD(raw: $0, more: false) }
            withLE32(out.count) { strobe.metaAD(raw: $0, more: true) }
            strobe.prf(into: out, more: false)
        }
        return out
    }

    // MARK: Witnesses (schnorrkel `SigningTranscript::witness_bytes`, merlin `TranscriptRng`)

    /// Witness bytes bound to the transcript, secret nonce seeds and external randomness.
    /// On a fork of the STROBE state: for each seed `meta_ad(label)`, `meta_ad(le32(len), more)`,
    /// `key(seed)`; then `meta_ad("rng")`, `key(randomness)`; then `meta_ad(le32(count))`, `prf(count)`.
    /// Exposed with explicit `randomness` so tests can make it deterministic.
    public func witnessBytes(label: String, count: Int, nonceSeeds: [[UInt8]], randomness: [UInt8]) -> [UInt8] {
        var fork = strobe
        withBytes(label) { label in
            for seed in nonceSeeds {
                fork.metaAD(raw: label, more: false)
                seed.withUnsafeBytes { seed in
                    withLE32(seed.count) { fork.metaAD(raw: $0, more: true) }
                    fork.key(raw: seed, more: false)
                }
            }
        }
        withBytes("rng") { fork.metaAD(raw: $0, more: false) }
        randomness.withUnsafeBytes { fork.key(raw: $0, more: false) }
        var out = [UInt8](repeating: 0, count: max(0, count))
        out.withUnsafeMutableBytes { out in
            withLE32(out.count) { fork.metaAD(raw: $0, more: false) }
            fork.prf(into: out, more: false)
        }
        return out
    }

    /// schnorrkel `witness_scalar(label, nonce_seeds)`: 64 witness bytes using 32 fresh random
    /// bytes, reduced mod l. The randomness protects against nonce reuse across messages
    /// and against a weak system RNG at the same time.
    public func witnessScalar(label: String, nonceSeeds: [[UInt8]]) throws(CryptoError) -> [UInt8] {
        let wide = witnessBytes(label: label, count: 64, nonceSeeds: nonceSeeds, randomness: Sodium.randomBytes(32))
        return try Sodium.scalarReduce(wide)
    }

    // MARK: Internals

    private mutating func appendMessage(rawLabel label: UnsafeRawBufferPointer, _ message: UnsafeRawBufferPointer) {
        strobe.metaAD(raw: label, more: false)
        withLE32(message.count) { strobe.metaAD(raw: $0, more: true) }
        strobe.ad(raw: message, more: false)
    }
}

/// Runs `body` over the UTF-8 bytes of `text` without allocating for native strings.
@inline(__always)
private func withBytes<R>(_ text: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    var text = text
    return text.withUTF8 { body(UnsafeRawBufferPointer($0)) }
}

/// Merlin encodes lengths as little-endian `u32` (lengths above 4 GiB are not meaningful here).
@inline(__always)
private func withLE32<R>(_ length: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    withUnsafeBytes(of: UInt32(truncatingIfNeeded: length).littleEndian, body)
}
