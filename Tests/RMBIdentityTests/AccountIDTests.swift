import Foundation
import RMBCrypto
import RMBTestSupport
import Testing
@testable import RMBIdentity

/// SS58 / hex parsing of account ids, against identities.json, plus base58 and fuzzing.
@Suite struct AccountIDTests {
    struct KnownAccount: CustomTestStringConvertible, Sendable {
        let label: String
        let hex: String
        let ss58: String
        var testDescription: String { label }
    }

    static func knownAccounts() throws -> [KnownAccount] {
        let json = try Fixtures.json("vectors/identities.json")
        var result: [KnownAccount] = []
        for identity in json["identities"] as? [[String: Any]] ?? [] {
            let name = identity["name"] as? String ?? "?"
            for scheme in ["sr25519", "ed25519"] {
                guard let keys = identity[scheme] as? [String: Any],
                      let hex = keys["account_id"] as? String, let ss58 = keys["ss58"] as? String
                else { throw Fixtures.FixtureError.missing("\(name).\(scheme)") }
                result.append(KnownAccount(label: "\(name) \(scheme)", hex: hex, ss58: ss58))
            }
        }
        let anchors = json["anchors"] as? [String: Any] ?? [:]
        for scheme in ["sr25519", "ed25519"] {
            guard let hex = anchors["alice_\(scheme)_public"] as? String, let ss58 = anchors["alice_\(scheme)_ss58"] as? String
            else { throw Fixtures.FixtureError.missing("alice \(scheme)") }
            result.append(KnownAccount(label: "//Alice \(scheme)", hex: hex, ss58: ss58))
        }
        return result
    }

    @Test func fixtureHasEveryIdentityAndAnchor() throws {
        let accounts = try Self.knownAccounts()
        #expect(accounts.count == 8)   // 3 identities × 2 schemes + 2 anchors
    }

    @Test(arguments: try knownAccounts())
    func ss58BothDirections(_ known: KnownAccount) throws {
        let bytes = [UInt8](testHex: known.hex)
        #expect(try SS58.encode(bytes) == known.ss58)
        #expect(try SS58.decode(known.ss58) == bytes)

        let fromBytes = try AccountID(bytes: bytes)
        #expect(fromBytes.ss58 == known.ss58)
        #expect(fromBytes.hex == known.hex)
        #expect(fromBytes.description == known.ss58)
        #expect(try AccountID(parsing: known.ss58) == fromBytes)
        #expect(try AccountID(parsing: known.hex) == fromBytes)
        #expect(try AccountID(parsing: "0x" + known.hex) == fromBytes)
        #expect(try AccountID(parsing: "0X" + known.hex.uppercased()) == fromBytes)
        #expect(try AccountID(parsing: "  \(known.ss58)\n") == fromBytes)
    }

    @Test func aliceAnchorIsTheWellKnownAddress() throws {
        let alice = try AccountID(parsing: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY")
        #expect(alice.hex == "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")
    }

    @Test func wrongByteCountIsRejected() {
        #expect(throws: AccountIDError.wrongLength(31)) { try AccountID(bytes: [UInt8](repeating: 1, count: 31)) }
        #expect(throws: AccountIDError.wrongLength(33)) { try AccountID(bytes: [UInt8](repeating: 1, count: 33)) }
        #expect(throws: SS58Error.wrongAccountLength(0)) { try SS58.encode([]) }
    }

    @Test func badChecksumIsRejected() throws {
        let valid = "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV"
        // Change the last character: same length, same prefix, checksum no longer matches.
        let tampered = String(valid.dropLast()) + "W"
        #expect(throws: SS58Error.badChecksum) { try SS58.decode(tampered) }
        // Flip one payload bit and re-encode without fixing the checksum.
        var raw = try Base58.decode(valid)
        raw[10] ^= 0x01
        #expect(throws: SS58Error.badChecksum) { try SS58.decode(Base58.encode(raw)) }
        #expect(throws: (any Error).self) { try AccountID(parsing: tampered) }
    }

    @Test func otherNetworkPrefixIsRejected() throws {
        let key = [UInt8](testHex: "46ebddef8cd9bb167dc30878d7113b7e168e6f0646beffd77d69d39bad76b47a")
        for prefix: UInt8 in [0, 2, 41, 43, 63] {
            let body = [prefix] + key
            let checksum = try blake2b512(Array("SS58PRE".utf8) + body).prefix(2)
            let address = Base58.encode(body + checksum)
            #expect(throws: SS58Error.wrongPrefix(UInt16(prefix))) { try SS58.decode(address) }
        }
        // Two-byte prefix form (first byte 64...127), e.g. network 255.
        let ident: UInt16 = 255
        let first = UInt8((ident & 0b1111_1100) >> 2) | 0b0100_0000
        let second = UInt8(ident >> 8) | UInt8((ident & 0b11) << 6)
        let body = [first, second] + key
        let address = Base58.encode(body + (try blake2b512(Array("SS58PRE".utf8) + body).prefix(2)))
        #expect(throws: SS58Error.wrongPrefix(255)) { try SS58.decode(address) }
    }

    @Test func badCharactersAndLengthsAreRejected() {
        #expect(throws: SS58Error.invalidBase58(.invalidCharacter("0", position: 1))) {
            try SS58.decode("50hGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV")
        }
        #expect(throws: SS58Error.invalidBase58(.invalidCharacter("l", position: 3))) { try SS58.decode("5Dfl") }
        #expect(throws: SS58Error.invalidBase58(.invalidCharacter(" ", position: 2))) { try SS58.decode("5D fh") }
        #expect(throws: SS58Error.invalidBase58(.invalidCharacter("é", position: 0))) { try SS58.decode("é") }
        #expect(throws: SS58Error.wrongLength(0)) { try SS58.decode("") }
        #expect(throws: SS58Error.wrongLength(3)) { try SS58.decode("5Dfh") }
        #expect(throws: SS58Error.tooLong(characters: 65)) { try SS58.decode(String(repeating: "5", count: 65)) }
    }

    @Test func accountParsingErrorsAreSpecific() {
        #expect(throws: AccountIDError.empty) { try AccountID(parsing: "  ") }
        #expect(throws: AccountIDError.invalidHex("0x1234", digits: 4)) { try AccountID(parsing: "0x1234") }
        let sixtyTwo = String(repeating: "ab", count: 31)
        #expect(throws: AccountIDError.invalidHex(sixtyTwo, digits: 62)) { try AccountID(parsing: sixtyTwo) }
        let nonHex = "0x" + String(repeating: "zz", count: 32)
        #expect(throws: AccountIDError.invalidHex(nonHex, digits: 64)) { try AccountID(parsing: nonHex) }
        do {
            _ = try AccountID(parsing: "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzW")
            Issue.record("accepted a bad checksum")
        } catch {
            #expect(error.description.contains("checksum"))
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func codableUsesHexAndAcceptsSS58() throws {
        let account = try AccountID(parsing: "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV")
        let encoded = try JSONEncoder().encode([account])
        #expect(String(decoding: encoded, as: UTF8.self) == "[\"\(account.hex)\"]")
        #expect(try JSONDecoder().decode([AccountID].self, from: encoded) == [account])
        let fromSS58 = try JSONDecoder().decode([AccountID].self, from: Data("[\"\(account.ss58)\"]".utf8))
        #expect(fromSS58 == [account])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([AccountID].self, from: Data("[\"nope\"]".utf8)) }
    }

    // MARK: Base58

    @Test(arguments: [
        ([UInt8](), ""),
        ([0], "1"),
        ([0, 0, 0], "111"),
        ([0, 0, 1], "112"),
        ([57], "z"),
        ([58], "21"),
        ([0xff], "5Q"),
        (Array("hello world".utf8), "StV1DL6CwTryKyV"),
        ([0, 0, 0x28, 0x7f, 0xb4, 0xcd], "11233QC4"),
    ])
    func base58KnownValues(_ bytes: [UInt8], _ text: String) throws {
        #expect(Base58.encode(bytes) == text)
        #expect(try Base58.decode(text) == bytes)
    }

    @Test func base58RoundTripsRandomBytesWithLeadingZeros() throws {
        var rng = SplitMix64(seed: 58)
        for _ in 0..<2000 {
            let zeros = Int.random(in: 0...4, using: &rng)
            let tail = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let bytes = [UInt8](repeating: 0, count: zeros) + tail
            let text = Base58.encode(bytes)
            #expect(try Base58.decode(text) == bytes)
            #expect(text.prefix(while: { $0 == "1" }).count == bytes.prefix(while: { $0 == 0 }).count)
        }
    }

    @Test func base58RejectsCharactersOutsideTheAlphabet() {
        for bad in ["0", "O", "I", "l", "+", "/", "=", "-", "\u{0}", "ä", "😀"] {
            #expect(throws: Base58Error.self) { try Base58.decode("2" + bad + "2") }
        }
    }

    // MARK: Fuzzing

    @Test func randomInputNeverCrashesTheParsers() {
        var rng = SplitMix64(seed: 0x5558)
        let alphabet = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0OIl x0ä😀\u{0}")
        var accepted = 0
        for round in 0..<5000 {
            let text: String
            if round % 2 == 0 {
                text = String((0..<Int.random(in: 0...70, using: &rng)).map { _ in alphabet.randomElement(using: &rng) ?? "1" })
            } else {
                let bytes = (0..<Int.random(in: 0...80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                text = String(decoding: bytes, as: UTF8.self)
            }
            _ = try? Base58.decode(text)
            if let account = try? AccountID(parsing: text) {
                accepted += 1
                #expect(account.bytes.count == 32)
            }
            _ = try? SS58.decode(text)
        }
        // Random text essentially never carries a valid checksum.
        #expect(accepted < 5)
    }

    @Test func mutatedValidAddressesNeverCrashAndMostlyFail() throws {
        var rng = SplitMix64(seed: 42)
        let valid = Array("5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV")
        let alphabet = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
        var accepted = 0
        for _ in 0..<3000 {
            var mutated = valid
            let position = Int.random(in: 0..<mutated.count, using: &rng)
            let replacement = alphabet.randomElement(using: &rng) ?? "1"
            guard replacement != mutated[position] else { continue }
            mutated[position] = replacement
            if (try? SS58.decode(String(mutated))) != nil { accepted += 1 }
        }
        // A 16-bit checksum lets through about 1 in 65536 single-character typos.
        #expect(accepted <= 2)
    }
}

/// BLAKE2b-512 through RMBCrypto, for building test addresses with other prefixes.
private func blake2b512(_ data: [UInt8]) throws -> [UInt8] {
    try Sodium.blake2b(data, outputLength: 64)
}

