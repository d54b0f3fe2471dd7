import Testing
import RMBCrypto
import RMBTestSupport

@Suite struct DerivationAndEd25519Tests {
    let anchors: JSONObject

    init() throws {
        anchors = try Fixtures.json("vectors/identities.json").object("anchors")
    }

    @Test func junctionChainCodes() throws {
        #expect(try DeriveJunction("Alice").chainCode == [0x14] + Array("Alice".utf8) + [UInt8](repeating: 0, count: 26))
        #expect(try DeriveJunction("42").chainCode == [42] + [UInt8](repeating: 0, count: 31))
        #expect(try DeriveJunction("").chainCode == [UInt8](repeating: 0, count: 32))
        // "-1" is not a u64 in Rust either: it is a string junction.
        #expect(try DeriveJunction("-1").chainCode == [0x08, 0x2d, 0x31] + [UInt8](repeating: 0, count: 29))
        let long = String(repeating: "x", count: 64)
        let encoded = [0x01, 0x01] + Array(long.utf8)
        #expect(try DeriveJunction(long).chainCode == Sodium.blake2b(encoded, outputLength: 32))
        #expect(try DeriveJunction(long) == DeriveJunction(encoded: encoded))
    }

    @Test func sr25519AliceAnchor() throws {
        let dev = try Sr25519KeyPair(miniSecret: anchors.hex("dev_phrase_mini_secret"))
        let alice = try dev.hardDerive(DeriveJunction("Alice"))
        #expect(alice.publicKey == (try anchors.hex("alice_sr25519_public")))
        // identity.md §6: //Bob.
        let bob = try dev.hardDerive(DeriveJunction("Bob"))
        #expect(bob.publicKey.testHex == "8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48")
        let signature = try alice.sign(Array("hello".utf8))
        #expect(Sr25519.verify(signature: signature, message: Array("hello".utf8), publicKey: alice.publicKey))
        #expect(throws: CryptoError.self) { try dev.hardDerive(chainCode: [1, 2, 3]) }
    }

    @Test func ed25519AliceAnchor() throws {
        let dev = try Ed25519KeyPair(seed: anchors.hex("dev_phrase_mini_secret"))
        let alice = try dev.hardDerive(DeriveJunction("Alice"))
        #expect(alice.seed == (try anchors.hex("alice_ed25519_seed")))
        #expect(alice.publicKey == (try anchors.hex("alice_ed25519_public")))
    }

    @Test func ed25519IdentityPublicKeys() throws {
        for (_, identity) in try identitiesByName() {
            let pair = try Ed25519KeyPair(seed: identity.hex("mini_secret"))
            #expect(pair.publicKey == (try identity.object("ed25519").hex("public_key")))
        }
    }

    @Test func ed25519EnvelopeSignaturesMatchByteForByte() throws {
        let identities = try identitiesByName()
        let cases = try Fixtures.json("vectors/envelopes.json").objects("cases")
        #expect(!cases.isEmpty)
        for envelope in cases {
            let signer = try envelope.object("fields").string("signer")
            let identity = try #require(identities[signer])
            let pair = try Ed25519KeyPair(seed: identity.hex("mini_secret"))
            let wire = try envelope.object("ed25519").hex("signature")
            #expect(wire.count == 65 && wire.first == 0x65)
            let digest = try envelope.hex("md5_digest")
            let signature = try pair.sign(digest)
            #expect(signature == Array(wire.dropFirst()))
            #expect(Ed25519KeyPair.verify(signature: signature, message: digest, publicKey: pair.publicKey))
            #expect(!Ed25519KeyPair.verify(signature: signature, message: digest + [0], publicKey: pair.publicKey))
        }
    }

    @Test func ed25519JWTSignaturesMatchByteForByte() throws {
        let identities = try identitiesByName()
        let tokens = try Fixtures.json("vectors/jwt.json").objects("tokens").filter { ($0["key_type"] as? String) == "ed25519" }
        #expect(!tokens.isEmpty)
        for token in tokens {
            let identity = try #require(identities[try token.string("identity")])
            let pair = try Ed25519KeyPair(seed: identity.hex("mini_secret"))
            let signature = try pair.sign(Array(try token.string("signing_input").utf8))
            #expect([0x65] + signature == (try token.hex("signature_hex")))
        }
    }

    @Test func ed25519RejectsBadInputs() {
        #expect(throws: CryptoError.self) { try Ed25519KeyPair(seed: [1, 2, 3]) }
        #expect(!Ed25519KeyPair.verify(signature: [], message: [], publicKey: []))
        for _ in 0..<500 {
            #expect(!Ed25519KeyPair.verify(signature: Sodium.randomBytes(64), message: [1], publicKey: Sodium.randomBytes(32)))
        }
    }
}
