import Testing
import RMBCrypto
import RMBTestSupport

/// `Sr25519.verifyBatch`: a batch passes exactly when every signature in it would verify alone.
@Suite struct Sr25519BatchTests {
    /// `count` signatures over distinct messages, spread over `keys` key pairs.
    private func batch(_ count: Int, keys: [Sr25519KeyPair]) throws -> [Sr25519.SignedMessage] {
        try (0..<count).map { index in
            let pair = keys[index % keys.count]
            let message = Sodium.randomBytes(16 + index % 40)
            return Sr25519.SignedMessage(signature: try pair.sign(message), message: message, publicKey: pair.publicKey)
        }
    }

    private func freshKeys(_ count: Int) throws -> [Sr25519KeyPair] {
        try (0..<count).map { _ in try Sr25519KeyPair(miniSecret: Sodium.randomBytes(32)) }
    }

    @Test func validBatchesVerify() throws {
        // Fresh keys go through their odd multiples; a key verified often enough gets a
        // fixed-base table (after 8 uses), so the larger batches take both paths.
        let keys = try freshKeys(3)
        for size in [0, 1, 2, 3, 4, 5, 16, 64] {
            let items = try batch(size, keys: keys)
            #expect(Sr25519.verifyBatch(items), "size \(size)")
            #expect(Sr25519.verifyBatch(items), "size \(size), again")
        }
        // Another signing context, mixed with the default one.
        let pair = keys[0]
        let message = Array("context".utf8)
        let custom = Sr25519.SignedMessage(signature: try pair.sign(message, context: Array("other".utf8)), message: message,
                                           publicKey: pair.publicKey, context: Array("other".utf8))
        #expect(Sr25519.verifyBatch(try batch(7, keys: keys) + [custom]))
        var wrongContext = custom
        wrongContext.context = Sr25519.substrateContext
        #expect(!Sr25519.verifyBatch(try batch(7, keys: keys) + [wrongContext]))
    }

    @Test func vectorSignaturesVerifyTogether() throws {
        let envelopes = try Fixtures.json("vectors/envelopes.json").objects("cases").map { envelope in
            let sr = try envelope.object("sr25519")
            return Sr25519.SignedMessage(signature: Array(try sr.hex("signature").dropFirst()), message: try envelope.hex("md5_digest"),
                                         publicKey: try sr.hex("signer_account"))
        }
        let tokens = try Fixtures.json("vectors/jwt.json").objects("tokens").filter { ($0["key_type"] as? String) == "sr25519" }.map { token in
            Sr25519.SignedMessage(signature: Array(try token.hex("signature_hex").dropFirst()),
                                  message: Array(try token.string("signing_input").utf8), publicKey: try token.hex("account"))
        }
        let all = envelopes + tokens
        #expect(all.count >= 2)
        #expect(Sr25519.verifyBatch(all))
        var tampered = all
        tampered[all.count - 1].message += [0]
        #expect(!Sr25519.verifyBatch(tampered))
    }

    /// One bad signature anywhere in a batch, of each kind single verification rejects, fails it.
    @Test func oneBadSignatureFailsTheBatch() throws {
        let keys = try freshKeys(2)
        let other = try Sr25519KeyPair(miniSecret: Sodium.randomBytes(32))
        let forgeries: [(String, (inout Sr25519.SignedMessage) throws -> Void)] = [
            ("message changed", { $0.message[0] ^= 1 }),
            ("another key", { $0.publicKey = other.publicKey }),
            ("s changed", { $0.signature[40] ^= 1 }),
            ("R from another signature", { $0.signature.replaceSubrange(0..<32, with: try other.sign([1, 2, 3])[0..<32]) }),
            ("R not a point", { $0.signature[0] ^= 1 }),
            ("R non-canonical (top bit)", { $0.signature[31] |= 0x80 }),
            ("marker bit cleared", { $0.signature[63] &= 0x7f }),
            ("identity key", { $0.publicKey = [UInt8](repeating: 0, count: 32) }),
            ("short signature", { $0.signature.removeLast() }),
        ]
        for (name, forge) in forgeries {
            for position in [0, 7, 15] {
                var items = try batch(16, keys: keys)
                try forge(&items[position])
                #expect(!Sr25519.verify(signature: items[position].signature, message: items[position].message,
                                        publicKey: items[position].publicKey), "\(name): rejected alone")
                #expect(!Sr25519.verifyBatch(items), "\(name) at \(position)")
            }
        }
    }

    /// Two forged signatures whose errors cancel in an unweighted sum: s₁ + 1 and s₂ − 1 leave
    /// Σ sᵢ·B unchanged (k does not depend on s). The random weights catch them.
    @Test func errorsThatCancelInAPlainSumAreCaught() throws {
        let keys = try freshKeys(1)
        var items = try batch(8, keys: keys)
        func adjust(_ item: inout Sr25519.SignedMessage, by delta: [UInt8]) throws {
            var s = Array(item.signature[32..<64])
            s[31] &= 0x7f
            s = try Sodium.scalarAdd(s, delta)
            s[31] |= 0x80
            item.signature.replaceSubrange(32..<64, with: s)
        }
        let one = [UInt8](repeating: 0, count: 32).enumerated().map { $0.offset == 0 ? 1 : $0.element }
        try adjust(&items[2], by: one)
        try adjust(&items[5], by: Sodium.scalarNegate(one))
        #expect(!Sr25519.verify(signature: items[2].signature, message: items[2].message, publicKey: items[2].publicKey))
        #expect(!Sr25519.verify(signature: items[5].signature, message: items[5].message, publicKey: items[5].publicKey))
        for _ in 0..<20 { #expect(!Sr25519.verifyBatch(items)) }
    }

    /// Random batches with random damage: the batch passes exactly when every member verifies alone.
    @Test func agreesWithSingleVerification() throws {
        var rng = SplitMix64(seed: 17)
        let keys = try freshKeys(4)
        for round in 0..<60 {
            var items = try batch(Int(rng.next() % 12) + 2, keys: keys)
            if rng.next() % 2 == 0 {
                let victim = Int(rng.next() % UInt64(items.count))
                let bit = Int(rng.next() % 512)
                items[victim].signature[bit / 8] ^= 1 << (bit % 8)
            }
            let alone = items.allSatisfy { Sr25519.verify(signature: $0.signature, message: $0.message, publicKey: $0.publicKey) }
            #expect(Sr25519.verifyBatch(items) == alone, "round \(round)")
        }
    }
}
