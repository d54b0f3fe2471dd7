import Foundation
import RMBTestSupport
import SubstrateTestSupport
import Testing

/// `rmb twin show` and `rmb twin relays …` as a user runs them: the real executable against a
/// scripted tfchain node on loopback, and against a local twin file.
@Suite struct TwinChainCLITests {
    static let devMnemonic = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"
    static let devSS58 = "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV"
    static let devPK = "035b26108e8b97479c547da4860d862dc08ab2c29ada449c74d5a9a58a6c46a8c4"

    static func chain() async throws -> (FakeTFChain, ReplayNode) {
        let fake = FakeTFChain()
        try fake.storeVectorTwins()
        return (fake, try await fake.start())
    }

    static func rmb(_ arguments: [String]) async throws -> CLIResult {
        try await CLIProcess.run(arguments)
    }

    @Test func showReadsTwinsFromTheChainByIDAndAccount() async throws {
        let (_, node) = try await Self.chain()
        let byID = try await Self.rmb(["twin", "show", "--substrate", node.url, "--id", "41"])
        #expect(byID.status == 0, "\(byID.stderr)")
        #expect(byID.stdout.contains("r1.example.com, r2.example.org"))
        let byAccount = try await Self.rmb(["twin", "show", "--substrate", node.url, "--account", Self.devSS58, "--json"])
        #expect(byAccount.status == 0, "\(byAccount.stderr)")
        #expect(byAccount.stdout.contains(#""id":7"#))
        #expect(byAccount.stdout.contains(Self.devPK))
        let missing = try await Self.rmb(["twin", "show", "--substrate", node.url, "--id", "8"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no twin with id 8"))
        let both = try await Self.rmb(["twin", "show", "--substrate", node.url, "--twins", "x.toml", "--id", "8"])
        #expect(both.status == 2)
        await node.stop()
    }

    @Test func relaysListPrintsOnePerLine() async throws {
        let (_, node) = try await Self.chain()
        let result = try await Self.rmb(["twin", "relays", "list", "--substrate", node.url, "--id", "41"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "r1.example.com\nr2.example.org\n")
        await node.stop()
    }

    @Test func relaysAddSubmitsASignedUpdateKeepingTheKey() async throws {
        let (fake, node) = try await Self.chain()
        try fake.finalizeUpdates(inBlock: 120)
        let result = try await Self.rmb(["twin", "relays", "add", "--substrate", node.url, "--mnemonic", Self.devMnemonic, "r9.example.net"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("twin 7 relays:"))
        #expect(result.stdout.contains("finalized in block"))
        let submitted = try #require(fake.with { $0.submitted.first })
        // The call at the end: relay Some("relay.example.com_r9.example.net"), pk Some(unchanged key).
        let relay = Array("relay.example.com_r9.example.net".utf8).map { String(format: "%02x", $0) }.joined()
        #expect(submitted.hasSuffix(relay + "01" + "84" + Self.devPK))
        await node.stop()
    }

    @Test func relaysTheChainWouldRefuseAreRejectedBeforeSigning() async throws {
        let (fake, node) = try await Self.chain()
        // Each refused with its own reason (issue 16: all used to say "host names only").
        for (bad, reason) in [("http://127.0.0.1:8080", "plain-http"), ("r.example.com:8443", "port"),
                              ("a.fake.test", "second character"), ("x_y.fake.test", "'_'")] {
            let result = try await Self.rmb(["twin", "relays", "add", "--substrate", node.url, "--mnemonic", Self.devMnemonic, bad])
            #expect(result.status == 2, "\(bad): \(result.stdout) \(result.stderr)")
            #expect(result.stderr.hasPrefix("error:") && result.stderr.contains(reason), "\(bad): \(result.stderr)")
        }
        let notListed = try await Self.rmb(["twin", "relays", "remove", "--substrate", node.url, "--mnemonic", Self.devMnemonic, "nope.example.com"])
        #expect(notListed.status == 2)
        #expect(fake.with { $0.submitted.isEmpty })
        await node.stop()
    }

    @Test func aChainThatNeverFinalizesExitsOneWithinTheTimeout() async throws {
        let (fake, node) = try await Self.chain()
        fake.with { $0.statuses = ["ready"] }
        let started = Date()
        let result = try await Self.rmb(["twin", "relays", "set", "--substrate", node.url, "--mnemonic", Self.devMnemonic,
                                         "--timeout", "1", "r1.example.com"])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("not finalized"))
        #expect(result.stderr.contains("last status: ready"), "\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 60)   // bounded (generous: parallel suite on two cores)
        await node.stop()
    }

    /// Block hashes in errors are hex, not byte arrays (issue 16).
    @Test func aTransactionStuckInABlockNamesTheBlockInHex() async throws {
        let (fake, node) = try await Self.chain()
        fake.with { $0.statuses = ["ready", ["inBlock": NodeJSON(stringLiteral: FakeTFChain.blockHash(121))]] }
        let result = try await Self.rmb(["twin", "relays", "set", "--substrate", node.url, "--mnemonic", Self.devMnemonic,
                                         "--timeout", "1", "r1.example.com"])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("inBlock(\(FakeTFChain.blockHash(121)))"), "\(result.stderr)")
        #expect(!result.stderr.contains("inBlock(["), "\(result.stderr)")
        await node.stop()
    }

    /// A runtime upgrade that changed the Twin type: a read names it with the runtime version and
    /// exits 1 (the chain changed, not the call), instead of a generic decode error (issue 16).
    @Test func aChangedTwinLayoutIsNamedOnRead() async throws {
        let (fake, node) = try await Self.chain()
        // The Twin type's field `entities` renamed in the live metadata, and the stored twins in a
        // layout the built-in decoder cannot read.
        var metadata = try Fixtures.data("tfchain-metadata-v14.scale")
        let field = Array("\u{20}entities".utf8)
        let at = try #require((0...(metadata.count - field.count)).first { Array(metadata[$0..<($0 + field.count)]) == field })
        metadata[at + field.count - 1] = UInt8(ascii: "z")
        fake.with { state in
            state.metadataOverride = "0x" + metadata.map { String(format: "%02x", $0) }.joined()
            for (key, value) in state.storage where value.count > 12 { state.storage[key] = "0x0102" }
        }
        let result = try await Self.rmb(["twin", "show", "--substrate", node.url, "--id", "41"])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("runtime \(FakeTFChain.specVersion)") && result.stderr.contains("no longer has the fields"),
                "\(result.stderr)")
        await node.stop()
    }

    /// "No such twin" is the caller's to fix, asked by id or by key: exit 2 both ways (issue 16).
    @Test func noSuchTwinExitsTwoWhicheverWayItIsAsked() async throws {
        let (_, node) = try await Self.chain()
        let byID = try await Self.rmb(["twin", "relays", "list", "--substrate", node.url, "--id", "8"])
        #expect(byID.status == 2, "\(byID.stderr)")
        let otherKey = "bridge scale parent tribe elegant void army spend brief trigger burst chief"
        let byKey = try await Self.rmb(["twin", "relays", "add", "--substrate", node.url, "--mnemonic", otherKey, "r9.example.net"])
        #expect(byKey.status == 2, "\(byKey.stderr)")
        #expect(byKey.stderr.contains("no twin found"), "\(byKey.stderr)")
        await node.stop()
    }

    @Test func relaysEditALocalTwinFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rmb-cli-relays-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("twins.toml").path
        let added = try await CLIProcess.run(["twin", "add", "--twins", file, "--id", "7", "--account", Self.devSS58, "--relay", "http://127.0.0.1:9001"])
        #expect(added.status == 0, "\(added.stderr)")
        let add = try await CLIProcess.run(["twin", "relays", "add", "--twins", file, "--id", "7", "http://127.0.0.1:9002"])
        #expect(add.status == 0, "\(add.stderr)")
        let list = try await CLIProcess.run(["twin", "relays", "list", "--twins", file, "--account", Self.devSS58])
        #expect(list.stdout == "http://127.0.0.1:9001\nhttp://127.0.0.1:9002\n")
        let remove = try await CLIProcess.run(["twin", "relays", "remove", "--twins", file, "--id", "7", "http://127.0.0.1:9001"])
        #expect(remove.status == 0, "\(remove.stderr)")
        let set = try await CLIProcess.run(["twin", "relays", "set", "--twins", file, "--id", "7", "r1.example.com", "r1.example.com"])
        #expect(set.status == 0)
        let final = try await CLIProcess.run(["twin", "relays", "list", "--twins", file, "--id", "7"])
        #expect(final.stdout == "r1.example.com\n")
        let missing = try await CLIProcess.run(["twin", "relays", "list", "--twins", file, "--id", "9"])
        #expect(missing.status == 2)
        let badRelay = try await CLIProcess.run(["twin", "relays", "add", "--twins", file, "--id", "7", "ht!tp://x"])
        #expect(badRelay.status == 2)
    }
}
