import Foundation
import RMBTestSupport
import Testing
@testable import RMBIdentity
import RMBProtocol
import RMBCrypto

struct E2EVectorTests {
    @Test func aesGCMVectorsBothWays() throws {
        let vectors = try Fixtures.json("vectors/e2e.json")
        let cases = try #require(vectors["aes_gcm"] as? [[String: Any]])
        #expect(cases.count == 3)
        for vector in cases {
            let cipher = try E2ECipher(key: [UInt8](testHex: try #require(vector["key"] as? String)))
            let plain = [UInt8](testHex: try #require(vector["plaintext_hex"] as? String))
            let payload = try cipher.encrypt(plain, nonce: [UInt8](testHex: try #require(vector["nonce"] as? String)))
            #expect(payload.testHex == vector["cipher_payload"] as? String)
            #expect(payload.count == 28 + plain.count)
            #expect(try cipher.decrypt([UInt8](testHex: try #require(vector["cipher_payload"] as? String))) == plain)
        }
    }

    @Test func ecdhPairsGiveTheSameKeyBothWays() throws {
        let pairs = try #require(try Fixtures.json("vectors/e2e.json")["ecdh"] as? [[String: Any]])
        for pair in pairs {
            let a = try Secp256k1SecretKey([UInt8](testHex: try #require(pair["a_secret"] as? String)))
            let b = try Secp256k1SecretKey([UInt8](testHex: try #require(pair["b_secret"] as? String)))
            let ab = try E2ECipher(ownKey: a, peerPublicKey: b.compressedPublicKey)
            let ba = try E2ECipher(ownKey: b, peerPublicKey: a.compressedPublicKey)
            #expect(ab.key.testHex == pair["shared_key_sha256_x"] as? String)
            #expect(ba.key == ab.key)
        }
    }

    @Test func tamperedOrShortCipherIsRefused() throws {
        let cipher = try E2ECipher(key: [UInt8](repeating: 7, count: 32))
        let sealed = try cipher.encrypt(Array("hello".utf8))
        for i in 0..<sealed.count {
            var t = sealed
            t[i] ^= 0x01
            #expect(throws: E2EError.invalidCipherData) { try cipher.decrypt(t) }
        }
        for n in [0, 5, 11, 12, 27] {
            #expect(throws: E2EError.invalidCipherData) { try cipher.decrypt(Array(sealed.prefix(n))) }
        }
        #expect(throws: E2EError.self) { try E2ECipher(ownKey: Secp256k1SecretKey([UInt8](repeating: 1, count: 32)), peerPublicKey: [2, 3, 4]) }
        #expect(try cipher.decrypt(cipher.encrypt([])) == [])
    }
}

struct RelayTokenTests {
    static var tokens: [[String: Any]] { ((try? Fixtures.json("vectors/jwt.json"))?["tokens"] as? [[String: Any]]) ?? [] }

    static func identity(_ name: String, _ type: KeyType) throws -> Identity {
        try SigningVectorTests.identity(name, type)
    }

    @Test func vectorTokensParseAndVerify() throws {
        #expect(Self.tokens.count == 3)
        for vector in Self.tokens {
            let token = try RelayToken(parsing: try #require(vector["token"] as? String))
            #expect(token.claims.json == vector["claims_json"] as? String)
            #expect(token.signingInput == vector["signing_input"] as? String)
            #expect(token.signature.bytes.testHex == vector["signature_hex"] as? String)
            try token.verify(account: AccountID(parsing: try #require(vector["account"] as? String)))
            #expect(token.isExpired())   // fixed in the past
            #expect(!token.isExpired(now: token.claims.exp))
            #expect(token.isExpired(now: token.claims.exp + 1))
        }
    }

    @Test func weProduceTheVectorTokensByteForByte() throws {
        for vector in Self.tokens {
            let type = KeyType(name: try #require(vector["key_type"] as? String)) ?? .sr25519
            let identity = try Self.identity(try #require(vector["identity"] as? String), type)
            let claims = try JSONDecoder().decode(RelayToken.Claims.self, from: Data(try #require(vector["claims_json"] as? String).utf8))
            let made = try RelayToken.make(identity: identity, twin: claims.sub, sid: claims.sid,
                                           issuedAt: claims.iat, lifetime: claims.exp - claims.iat)
            if vector["deterministic"] as? Bool == true {
                #expect(made == vector["token"] as? String)
            } else {
                #expect(made.hasPrefix(try #require(vector["signing_input"] as? String)))
            }
            try RelayToken(parsing: made).verify(account: identity.account)
        }
    }

    @Test func headerAndClaimsTolerance() throws {
        let id = try Self.identity("dev", .ed25519)
        func token(header: String, claims: String, pad: Bool = false) throws -> String {
            let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
            var sig = Base64URL.encode(try id.sign(Array(input.utf8)).bytes)
            if pad { sig += "=" }
            return input + "." + sig
        }
        // typ/cty/kid and unknown keys accepted; sid absent accepted; padding tolerated
        let ok = try token(header: #"{"alg":"RS512","typ":"JWT","cty":"JWT","kid":"k","x":1}"#, claims: #"{"sub":7,"iat":1,"exp":2,"extra":true}"#, pad: true)
        let parsed = try RelayToken(parsing: ok)
        #expect(parsed.claims.sid == nil && parsed.claims.sub == 7)
        try parsed.verify(account: id.account)
        // wrong alg, missing exp, sub as string: malformed
        for (h, c) in [(#"{"alg":"HS256"}"#, #"{"sub":7,"iat":1,"exp":2}"#),
                       (#"{"alg":"RS512"}"#, #"{"sub":7,"iat":1}"#),
                       (#"{"alg":"RS512"}"#, #"{"sub":"7","iat":1,"exp":2}"#)] {
            #expect(throws: RelayTokenError.self) { try RelayToken(parsing: try token(header: h, claims: c)) }
        }
        // a valid token of someone else fails the signature check
        let other = try Self.identity("alpha", .ed25519)
        #expect(throws: RelayTokenError.badSignature) { try parsed.verify(account: other.account) }
    }

    @Test func randomTokensNeverCrash() {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.+/{}\"".utf8)
        var rng = SystemRandomNumberGenerator()
        let seed = Self.tokens.first?["token"] as? String ?? ""
        for i in 0..<4000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                bytes = (0..<Int.random(in: 0..<200, using: &rng)).map { _ in alphabet.randomElement(using: &rng) ?? 46 }
            } else {
                bytes = Array(seed.utf8)
                if !bytes.isEmpty { bytes[Int.random(in: 0..<bytes.count, using: &rng)] = alphabet.randomElement(using: &rng) ?? 46 }
            }
            _ = try? RelayToken(parsing: String(decoding: bytes, as: UTF8.self))
        }
    }
}
