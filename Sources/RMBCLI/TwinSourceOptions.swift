import TLSSupport
import ArgumentParser
import Foundation
import RMBIdentity
import RMBProtocol
import TFChain
import TwinDirectory

/// `--twins FILE` or `--substrate URL…`: where `rmb twin …` reads (and writes) twins.
struct TwinSourceOptions: ParsableArguments {
    @Option(name: .long, help: "Local twin file (TOML).")
    var twins: String?

    @Option(name: [.short, .long], help: "tfchain RPC URL, e.g. wss://tfchain.grid.tf:443 (repeat for failover).")
    var substrate: [String] = []

    @Option(name: .customLong("ca-file"), help: "PEM file of extra trusted roots for wss:// (SSL_CERT_FILE is honoured too).")
    var caFile: String?

    func validate() throws {
        guard (twins == nil) != substrate.isEmpty else { throw ValidationError("give exactly one of --twins FILE or --substrate URL") }
    }

    func open() throws -> OpenedTwinSource {
        if let caFile {
            do throws(ClientTLS.Failure) { try ClientTLS.trust(caFile: caFile) } catch { throw InputError(error.description) }
        }
        if let twins { return .file(path: twins, directory: try LocalTwinDirectory(path: twins)) }
        return .chain(TFChainClient(urls: substrate))
    }
}

/// An opened twin source; ``closing(_:)`` runs work and closes the chain connection after it.
enum OpenedTwinSource {
    case file(path: String, directory: LocalTwinDirectory)
    case chain(TFChainClient)

    var directory: any TwinDirectory {
        switch self {
        case .file(_, let directory): directory
        case .chain(let client): client.directory
        }
    }

    var name: String {
        switch self {
        case .file(let path, _): path
        case .chain(let client): "tfchain (\(client.rpc.urls.joined(separator: ", ")))"
        }
    }

    func closing<T>(_ body: () async throws -> T) async throws -> T {
        do {
            let result = try await body()
            if case .chain(let client) = self { await client.close() }
            return result
        } catch {
            if case .chain(let client) = self { await client.close() }
            throw error
        }
    }
}

/// The twin's secret for signing chain writes: `--mnemonic`, `--mnemonic-file` or `RMB_MNEMONIC`
/// (the last two keep it out of `ps`).
struct SecretOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Mnemonic or 0x hex seed of the twin's account (prefer RMB_MNEMONIC or --mnemonic-file).")
    var mnemonic: String?

    @Option(name: .customLong("mnemonic-file"), help: "File holding the mnemonic or 0x seed.")
    var mnemonicFile: String?

    @Option(name: [.customShort("k"), .customLong("key-type")], help: "sr25519 (default) or ed25519.")
    var keyType = "sr25519"

    var isGiven: Bool {
        mnemonic != nil || mnemonicFile != nil || ProcessInfo.processInfo.environment["RMB_MNEMONIC"] != nil
    }

    func identity() throws -> Identity {
        let text: String
        if let mnemonic {
            text = mnemonic
        } else if let mnemonicFile {
            guard let contents = try? String(contentsOfFile: mnemonicFile, encoding: .utf8) else {
                throw ValidationError("cannot read --mnemonic-file \(mnemonicFile)")
            }
            text = contents
        } else if let environment = ProcessInfo.processInfo.environment["RMB_MNEMONIC"] {
            text = environment
        } else {
            throw ValidationError("a secret is required: --mnemonic, --mnemonic-file or RMB_MNEMONIC")
        }
        guard let type = KeyType(name: keyType) else { throw ValidationError("invalid key type '\(keyType)': expected sr25519 or ed25519") }
        do {
            return try Identity(parsing: text.trimmingCharacters(in: .whitespacesAndNewlines), keyType: type)
        } catch {
            throw ValidationError("invalid secret: \(error)")
        }
    }
}
