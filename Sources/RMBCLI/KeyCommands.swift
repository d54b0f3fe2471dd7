import ArgumentParser
import Foundation
import RMBIdentity
import RMBProtocol

struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Generate and inspect twin keys (mnemonic or 0x seed → account, SS58, e2e key).",
        subcommands: [Generate.self, Inspect.self]
    )

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Generate a new BIP39 mnemonic and show its keys.")
        @Option(help: "Number of words: 12, 15, 18, 21 or 24.") var words: Int = 12
        @Option(name: .customLong("key-type"), help: "sr25519 or ed25519.") var keyType: String = "sr25519"
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            try reportingBadInput {
                let mnemonic = try Mnemonic.generate(wordCount: words)
                let identity = try Identity(secret: MiniSecret(mnemonic: mnemonic), keyType: try parseKeyType(keyType))
                print(KeyReport(identity: identity, mnemonic: mnemonic.phrase).render(json: json))
            }
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the keys of a mnemonic or a 0x hex seed.")
        @Option(help: "BIP39 mnemonic (12–24 words).") var mnemonic: String?
        @Option(help: "0x followed by 64 hex digits.") var seed: String?
        @Option(name: .customLong("key-type"), help: "sr25519 or ed25519.") var keyType: String = "sr25519"
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            try reportingBadInput {
                let secret: MiniSecret
                switch (mnemonic, seed) {
                case (let m?, nil): secret = try MiniSecret(mnemonic: Mnemonic(phrase: m))
                case (nil, let s?):
                    guard s.hasPrefix("0x") else { throw InputError("invalid seed: expected 0x followed by 64 hex digits") }
                    secret = try MiniSecret(parsing: s)
                default: throw InputError("give exactly one of --mnemonic or --seed")
                }
                let identity = try Identity(secret: secret, keyType: try parseKeyType(keyType))
                print(KeyReport(identity: identity, mnemonic: nil).render(json: json))
            }
        }
    }
}

func parseKeyType(_ text: String) throws -> KeyType {
    guard let type = KeyType(name: text) else { throw InputError("invalid key type '\(text)': expected sr25519 or ed25519") }
    return type
}

/// What `key generate` / `key inspect` print.
struct KeyReport {
    let identity: Identity
    let mnemonic: String?

    func render(json: Bool) -> String {
        let fields: [(String, String)] = (mnemonic.map { [("mnemonic", $0)] } ?? []) + [
            ("key_type", identity.keyType.description),
            ("public_key", identity.account.hex),
            ("account_ss58", identity.account.ss58),
            ("e2e_public_key", Hex.encode(identity.e2ePublicKey)),
        ]
        if json { return jsonObject(fields) }
        let labels = ["mnemonic": "Secret phrase", "key_type": "Key type", "public_key": "Public key (hex)",
                      "account_ss58": "Account (SS58)", "e2e_public_key": "E2E public key (secp256k1)"]
        return fields.map { "\((labels[$0.0] ?? $0.0).padding(toLength: 28, withPad: " ", startingAt: 0)) \($0.1)" }
            .joined(separator: "\n")
    }
}

/// A flat JSON object of strings, keys in the given order.
func jsonObject(_ fields: [(String, String)]) -> String {
    "{" + fields.map { "\(jsonString($0.0)):\(jsonString($0.1))" }.joined(separator: ",") + "}"
}

func jsonString(_ s: String) -> String {
    guard let data = try? JSONEncoder().encode(s) else { return "\"\"" }
    return String(decoding: data, as: UTF8.self)
}
