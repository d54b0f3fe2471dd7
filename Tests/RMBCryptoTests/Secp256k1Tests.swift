import Testing
import RMBCrypto
import RMBTestSupport

@Suite struct Secp256k1Tests {
    /// n, the secp256k1 group order (big-endian).
    static let order = [UInt8](testHex: "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")

    @Test func compressedPublicKeys() throws {
        let identities = try identitiesByName()
        #expect(identities.count == 3)
        for (_, identity) in identities {
            let secp = try identity.object("secp256k1")
            let key = try Secp256k1SecretKey(secp.hex("secret_key"))
            #expect(key.compressedPublicKey == (try secp.hex("public_key_compressed")))
            #expect(Secp256k1SecretKey.isValidPublicKey(key.compressedPublicKey))
        }
    }

    @Test func ecdhBothDirections() throws {
        let pairs = try Fixtures.json("vectors/e2e.json").objects("ecdh")
        #expect(!pairs.isEmpty)
        for pair in pairs {
            let a = try Secp256k1SecretKey(pair.hex("a_secret"))
            let b = try Secp256k1SecretKey(pair.hex("b_secret"))
            #expect(a.compressedPublicKey == (try pair.hex("a_public")))
            #expect(b.compressedPublicKey == (try pair.hex("b_public")))
            let x = try pair.hex("shared_point_x")
            let key = try pair.hex("shared_key_sha256_x")
            #expect(try a.sharedPointX(with: b.compressedPublicKey) == x)
            #expect(try b.sharedPointX(with: a.compressedPublicKey) == x)
            #expect(try a.sharedKey(with: b.compressedPublicKey) == key)
            #expect(try b.sharedKey(with: a.compressedPublicKey) == key)
            // Uncompressed peer keys give the same result.
            let uncompressed = try Secp256k1SecretKey.uncompressedPublicKey(b.compressedPublicKey)
            #expect(uncompressed.count == 65 && uncompressed[0] == 0x04)
            #expect(Array(uncompressed[1..<33]) == Array(b.compressedPublicKey[1...]))
            #expect(try a.sharedKey(with: uncompressed) == key)
        }
    }

    @Test func invalidSecretKeysThrow() {
        let zero = [UInt8](repeating: 0, count: 32)
        var aboveOrder = Self.order
        aboveOrder[31] += 1
        #expect(throws: CryptoError.invalidSecretKey) { try Secp256k1SecretKey(zero) }
        #expect(throws: CryptoError.invalidSecretKey) { try Secp256k1SecretKey(Self.order) }
        #expect(throws: CryptoError.invalidSecretKey) { try Secp256k1SecretKey(aboveOrder) }
        #expect(throws: CryptoError.invalidSecretKey) { try Secp256k1SecretKey([UInt8](repeating: 0xff, count: 32)) }
        #expect(throws: CryptoError.invalidLength(what: "secp256k1 secret key", expected: 32, got: 31)) {
            try Secp256k1SecretKey([UInt8](repeating: 1, count: 31))
        }
        #expect(throws: CryptoError.self) { try Secp256k1SecretKey([UInt8](repeating: 1, count: 33)) }
        // n − 1 is the largest valid scalar.
        var maxValid = Self.order
        maxValid[31] -= 1
        #expect((try? Secp256k1SecretKey(maxValid)) != nil)
    }

    @Test func invalidPeerKeysThrow() throws {
        let key = try Secp256k1SecretKey([UInt8](repeating: 0x11, count: 32))
        let valid = key.compressedPublicKey
        let uncompressed = try Secp256k1SecretKey.uncompressedPublicKey(valid)
        var hybrid = uncompressed
        hybrid[0] = 0x06 | (uncompressed[64] & 1)
        var badY = uncompressed
        badY[64] ^= 1
        let invalid: [[UInt8]] = [
            [], Array(valid.dropFirst()), valid + [0],
            [0x04] + Array(valid.dropFirst()),             // wrong prefix for 33 bytes
            [0x02] + [UInt8](repeating: 0xff, count: 32),  // X ≥ p
            [0x05] + Array(valid.dropFirst()),
            hybrid, badY, [0x00],
            Array(valid.testHex.utf8),                     // a hex string stored instead of bytes
        ]
        for bytes in invalid {
            #expect(!Secp256k1SecretKey.isValidPublicKey(bytes), "\(bytes.testHex)")
            #expect(throws: CryptoError.invalidPoint) { try key.sharedPointX(with: bytes) }
            #expect(throws: CryptoError.invalidPoint) { try key.sharedKey(with: bytes) }
        }
        #expect(Secp256k1SecretKey.isValidPublicKey(uncompressed))
    }

    @Test func garbagePeerKeysNeverCrash() throws {
        let key = try Secp256k1SecretKey([UInt8](repeating: 0x22, count: 32))
        var parsed = 0
        for round in 0..<3000 {
            var bytes = Sodium.randomBytes(round % 3 == 0 ? 65 : 33)
            bytes[0] = [0x04, 0x02, 0x03][round % 3]
            if let x = try? key.sharedPointX(with: bytes) {
                #expect(x.count == 32)
                parsed += 1
            }
            _ = try? Secp256k1SecretKey(Sodium.randomBytes(32))
        }
        // About half of random X values are on the curve; random uncompressed points never are.
        #expect(parsed > 500 && parsed < 2000, "parsed \(parsed)")
    }
}
