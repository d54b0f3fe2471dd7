import Foundation
import RMBTestSupport
import Testing
@testable import RMBIdentity
import RMBProtocol

/// vectors/identities.json and the BIP39 word list.
struct IdentityVectorTests {
    static var identities: [[String: Any]] {
        ((try? Fixtures.json("vectors/identities.json"))?["identities"] as? [[String: Any]]) ?? []
    }

    @Test func embeddedWordListEqualsTheShippedStandardList() throws {
        let file = String(decoding: try Fixtures.data("bip39-english.txt"), as: UTF8.self)
        let words = file.split(separator: "\n").map(String.init)
        #expect(words.count == 2048)
        #expect(Mnemonic.englishWordList == words)
    }

    @Test func everyIdentityOfTheVectors() throws {
        #expect(Self.identities.count == 3)
        for vector in Self.identities {
            let name = vector["name"] as? String ?? "?"
            let phrase = try #require(vector["secret"] as? String)
            let mnemonic = try Mnemonic(phrase: phrase)
            #expect(mnemonic.entropy.testHex == vector["bip39_entropy"] as? String, "\(name)")
            #expect(try Mnemonic(entropy: mnemonic.entropy).phrase == phrase)
            let mini = try MiniSecret(mnemonic: mnemonic)
            #expect(mini.bytes.testHex == vector["mini_secret"] as? String, "\(name)")
            let seedText = try #require(vector["hex_seed_equivalent"] as? String)
            #expect(try MiniSecret(parsing: seedText) == mini)
            #expect(try MiniSecret(parsing: phrase) == mini)
            for type in KeyType.allCases {
                let expected = try #require(vector[type.description] as? [String: Any])
                for secret in [phrase, seedText] {
                    let identity = try Identity(parsing: secret, keyType: type)
                    #expect(identity.account.hex == expected["account_id"] as? String, "\(name) \(type)")
                    #expect(identity.account.hex == expected["public_key"] as? String)
                    #expect(identity.account.ss58 == expected["ss58"] as? String)
                    let secp = try #require(vector["secp256k1"] as? [String: Any])
                    #expect(identity.e2ePublicKey.testHex == secp["public_key_compressed"] as? String)
                    #expect(mini.bytes.testHex == secp["secret_key"] as? String)
                }
            }
        }
    }

    @Test func devPhraseAnchor() throws {
        let anchors = try #require(try Fixtures.json("vectors/identities.json")["anchors"] as? [String: Any])
        let mini = try MiniSecret(parsing: try #require(anchors["dev_phrase"] as? String))
        #expect(mini.bytes.testHex == anchors["dev_phrase_mini_secret"] as? String)
        #expect(Mnemonic.englishWordList.count == 2048)
    }

    @Test func badSecretsAreRefusedWithClearErrors() {
        let cases: [(String, String)] = [
            ("bottom drive obey lake curtain smoke basket hold race lonely fit", "11 words"),
            ("bottom drive obey lake curtain smoke basket hold race lonely fit wolk", "word 12 'wolk'"),
            ("bottom drive obey lake curtain smoke basket hold race lonely walk fit", "checksum"),
            ("0x1234", "4 hex digits"),
            ("0x" + String(repeating: "z", count: 64), "not hexadecimal"),
            ("", "0 words"),
        ]
        for (input, expected) in cases {
            do {
                _ = try MiniSecret(parsing: input)
                Issue.record("accepted \(input)")
            } catch {
                #expect(error.description.contains(expected), "\(input) → \(error.description)")
            }
        }
    }

    @Test func generatedMnemonicsRoundTrip() throws {
        for count in Mnemonic.validWordCounts {
            let m = try Mnemonic.generate(wordCount: count)
            #expect(m.words.count == count)
            #expect(try Mnemonic(phrase: m.phrase) == m)
        }
        #expect(throws: MnemonicError.invalidWordCount(13)) { try Mnemonic.generate(wordCount: 13) }
    }

    @Test func hex() {
        #expect(Hex.decode("0xA0ff") == [0xa0, 0xff])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
        #expect(Hex.encode([0, 255]) == "00ff")
    }
}
