import Foundation
import RMBTestSupport
import Testing

/// The `rmb` CLI as a user runs it: outputs, JSON keys and exit codes (0 ok, 1 invalid, 2 bad input).
@Suite(.serialized)
struct CLITests {
    static let dev = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"

    @Test func keyInspectMatchesTheVectors() async throws {
        let identities = try #require(try Fixtures.json("vectors/identities.json")["identities"] as? [[String: Any]])
        for vector in identities {
            for type in ["sr25519", "ed25519"] {
                let expected = try #require(vector[type] as? [String: Any])
                for input in [["--mnemonic", try #require(vector["secret"] as? String)],
                              ["--seed", try #require(vector["hex_seed_equivalent"] as? String)]] {
                    let r = try await CLIProcess.run(["key", "inspect"] + input + ["--key-type", type, "--json"])
                    #expect(r.status == 0, "\(r.stderr)")
                    let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: String])
                    #expect(Set(json.keys) == ["key_type", "public_key", "account_ss58", "e2e_public_key"])
                    #expect(json["key_type"] == type)
                    #expect(json["public_key"] == expected["public_key"] as? String)
                    #expect(json["account_ss58"] == expected["ss58"] as? String)
                    #expect(json["e2e_public_key"] == (vector["secp256k1"] as? [String: Any])?["public_key_compressed"] as? String)
                }
            }
        }
    }

    @Test func keyGenerateGivesAFreshValidMnemonic() async throws {
        for words in ["12", "24"] {
            let r = try await CLIProcess.run(["key", "generate", "--words", words, "--json"])
            #expect(r.status == 0)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: String])
            let phrase = try #require(json["mnemonic"])
            #expect(phrase.split(separator: " ").count == Int(words))
            let inspect = try await CLIProcess.run(["key", "inspect", "--mnemonic", phrase, "--json"])
            #expect(inspect.stdout.contains(try #require(json["account_ss58"])))
        }
        #expect(try await CLIProcess.run(["key", "generate", "--words", "13"]).status == 2)
    }

    @Test func envelopeDecodeAndVerify() async throws {
        let cases = try #require(try Fixtures.json("vectors/envelopes.json")["cases"] as? [[String: Any]])
        for vector in cases {
            for scheme in ["ed25519", "sr25519"] {
                let signed = try #require(vector[scheme] as? [String: Any])
                let hex = try #require(signed["envelope_hex_original_order"] as? String)
                let decoded = try await CLIProcess.run(["envelope", "decode", "--hex", hex, "--json"])
                #expect(decoded.status == 0, "\(decoded.stderr)")
                let json = try #require(try JSONSerialization.jsonObject(with: Data(decoded.stdout.utf8)) as? [String: Any])
                #expect(json["challenge_hex"] as? String == vector["challenge_hex"] as? String)
                #expect(json["digest"] as? String == vector["md5_digest"] as? String)
                #expect(json["uid"] as? String == (vector["fields"] as? [String: Any])?["uid"] as? String)
                #expect((json["signature"] as? [String: Any])?["type"] as? String == scheme)
                let human = try await CLIProcess.run(["envelope", "decode", "--hex", hex])
                #expect(human.status == 0 && human.stdout.contains("digest (md5)"))

                for account in [try #require(signed["signer_account"] as? String), try #require(signed["signer_ss58"] as? String)] {
                    let ok = try await CLIProcess.run(["envelope", "verify", "--hex", hex, "--account", account])
                    #expect(ok.status == 0 && ok.stdout == "valid\n", "\(ok.stdout)\(ok.stderr)")
                }
            }
        }
        // A tampered envelope (the uid's first character) is invalid: exit 1 with the reason.
        let first = try #require(cases.first?["ed25519"] as? [String: Any])
        var tampered = Array(try #require(first["envelope_hex_field_order"] as? String))
        tampered[5] = tampered[5] == "1" ? "2" : "1"
        let bad = try await CLIProcess.run(["envelope", "verify", "--hex", String(tampered), "--account", try #require(first["signer_account"] as? String)])
        #expect(bad.status == 1 && bad.stdout.hasPrefix("invalid: "))
    }

    @Test func jwtVerify() async throws {
        let tokens = try #require(try Fixtures.json("vectors/jwt.json")["tokens"] as? [[String: Any]])
        for vector in tokens {
            let token = try #require(vector["token"] as? String)
            let account = try #require(vector["account"] as? String)
            let claims = try #require(vector["claims_json"] as? String)
            let ok = try await CLIProcess.run(["jwt", "verify", "--token", token, "--account", account, "--ignore-expiry"])
            #expect(ok.status == 0 && ok.stdout.contains("valid") && ok.stdout.contains(claims))
            let expired = try await CLIProcess.run(["jwt", "verify", "--token", token, "--account", account])
            #expect(expired.status == 1 && expired.stdout.contains("jwt has expired"))
        }
        let token = try #require(tokens.first?["token"] as? String)
        let wrong = try await CLIProcess.run(["jwt", "verify", "--token", token, "--ignore-expiry",
                                        "--account", "5HYBuf4jQaTwNLdRkWrGuN5KcaKRkwPtQnB8LNZMdnijWbTe"])
        #expect(wrong.status == 1)
    }

    /// Bad input of every kind: exit code 2 and exactly one line on stderr, no stack trace.
    @Test func badInputExitsWithTwoAndOneLine() async throws {
        let cases: [[String]] = [
            ["key", "inspect", "--mnemonic", "bottom drive obey lake curtain smoke basket hold race lonely fit wolk"],
            ["key", "inspect", "--mnemonic", "bottom drive obey lake curtain smoke basket hold race lonely walk fit"],
            ["key", "inspect", "--seed", "0x123"],
            ["key", "inspect", "--seed", "0xzz"],
            ["key", "inspect", "--mnemonic", Self.dev, "--key-type", "rsa"],
            ["key", "inspect"],
            ["envelope", "decode", "--hex", "abc"],
            ["envelope", "decode", "--hex", "0a2436"],
            ["envelope", "decode", "--hex", "zz"],
            ["envelope", "verify", "--hex", "0a0178", "--account", "not-an-account"],
            ["jwt", "verify", "--token", "a.b", "--account", "5DFJF7tY4bpbpcKPJcBTQaKuCDEPCpiz8TRjpmLeTtweqmXL"],
            ["jwt", "verify", "--token", "e30.e30.e30", "--account", "5DFJF7tY4bpbpcKPJcBTQaKuCDEPCpiz8TRjpmLeTtweqmXL"],
            ["no-such-command"],
            ["key", "inspect", "--unknown-flag"],
        ]
        for arguments in cases {
            let r = try await CLIProcess.run(arguments)
            #expect(r.status == 2, "\(arguments): \(r.status) \(r.stderr)")
            let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: true)
            #expect(lines.count == 1, "\(arguments): \(r.stderr)")
            #expect(r.stderr.hasPrefix("error: "))
            #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Stack dump"))
        }
    }
}

/// `rmb peer status` reads what a running peer writes to `<store>/status.json`.
struct PeerStatusCLITests {
    @Test func printsRelaysAndStore() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rmb-status-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let status = #"{"account":"5Df","relays":[{"confirmed_batches":7,"last_round_trip_ms":1.5,"rank":0.002,"recent_failures":0,"relay":"http://127.0.0.1:1","state":"connected"},{"last_error":"connection refused (errno: 111)","rank":-1,"relay":"http://127.0.0.1:2","state":"disconnected"}],"store":{"backlog":1,"inbox_keys":2,"inbox_pending":0,"map_size":100,"map_used_bytes":10,"outbox":3},"time":\#(Int(Date().timeIntervalSince1970)),"twin":7}"#
        try Data(status.utf8).write(to: dir.appendingPathComponent("status.json"))
        let r = try await CLIProcess.run(["peer", "status", "--store", dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("http://127.0.0.1:1") && r.stdout.contains("connected") && r.stdout.contains("outbox 3"))
        // The plain table says why a relay is down (issue 18).
        #expect(r.stdout.contains("last error: connection refused (errno: 111)"), "\(r.stdout)")
        let missing = try await CLIProcess.run(["peer", "status", "--store", dir.appendingPathComponent("none").path])
        #expect(missing.status == 2 && missing.stderr.hasPrefix("error: no status"))
    }
}

/// The store commands await the store's writer; they run on NIO's event loops like every `rmb`
/// command, so they must finish without blocking the loop that work needs.
struct StoreCLITests {
    @Test func crashWriterThenStatsThenBench() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rmb-store-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let writer = try await CLIProcess.run(["store", "crash-writer", "--path", dir.path, "--workers", "3", "--count", "5"])
        #expect(writer.status == 0, "\(writer.stderr)")
        let lines = writer.stdout.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("ack ") }.count == 15)
        let deleted = lines.filter { $0.hasPrefix("del ") }.count
        #expect(deleted == 3)

        let stats = try await CLIProcess.run(["store", "stats", "--path", dir.path])
        #expect(stats.status == 0, "\(stats.stderr)")
        #expect(stats.stdout.contains("outbox   \(15 - deleted) entries") && stats.stdout.contains("consistent"))
        let missing = try await CLIProcess.run(["store", "stats", "--path", "/proc/none/store"])
        #expect(missing.status == 2 && missing.stderr.hasPrefix("error: "))

        let bench = try await CLIProcess.run(["bench", "store", "--producers", "1,2", "--count", "200", "--path", dir.appendingPathComponent("bench").path])
        #expect(bench.status == 0, "\(bench.stderr)")
        #expect(bench.stdout.split(separator: "\n").count == 4)
    }
}
