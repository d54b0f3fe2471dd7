import ArgumentParser
import Foundation
import RMBIdentity
import TFChain
import TwinDirectory

/// `rmb twin …`: read twins from tfchain or a local twin file (``LocalTwinFile``), manage the
/// local file, and manage a twin's relay list in either place (`rmb twin relays …`).
///
/// All parsing and file handling lives in TwinDirectory; these commands only map flags to
/// those calls and report errors as one stderr line with exit code 2.
public struct TwinCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "twin",
        abstract: "Show twins and manage relay lists, on tfchain or in a local twin file.",
        subcommands: [AddTwin.self, ShowTwin.self, RemoveTwin.self, TwinRelaysCommand.self]
    )

    public init() {}
}

/// `rmb twin add`: insert or replace one twin, creating the file if needed.
struct AddTwin: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a twin to the file, or replace the twin with the same id."
    )

    @Option(name: .long, help: "Twin file (TOML); created if missing.")
    var twins: String

    @Option(name: .long, help: "Twin id (1-4294967295).")
    var id: String

    @Option(name: .long, help: "Account: SS58 address or 64 hex digits.")
    var account: String

    @Option(name: .long, help: "Optional e2e public key: 33-byte compressed secp256k1, hex.")
    var pk: String?

    @Option(name: .customLong("relay"), help: "Relay: host, host:port, http://host:port, wss://host… (repeatable).")
    var relays: [String] = []

    func run() throws {
        let twin = try reportingErrors {
            Twin(
                id: try TwinValueParsing.id(id),
                account: try AccountID(parsing: account),
                relays: try relays.map { try RelayAddress(parsing: $0) },
                e2ePublicKey: try pk.map { try TwinValueParsing.e2ePublicKey($0) }
            )
        }
        try reportingErrors { try LocalTwinFile.upsert(twin, inFileAt: twins) }
        print("twin \(twin.id) saved to \(twins)")
    }
}

/// `rmb twin show`: print one twin, from the local file or from tfchain, for people or (with
/// `--json`) for scripts.
struct ShowTwin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a twin (local file or tfchain).")

    @OptionGroup var source: TwinSourceOptions

    @Option(name: .long, help: "Twin id.")
    var id: String?

    @Option(name: .long, help: "Account (SS58 or hex): show the twin it owns.")
    var account: String?

    @Flag(name: .long, help: "Print JSON: id, account_hex, account_ss58, pk (hex or null), relays.")
    var json = false

    func validate() throws {
        guard (id == nil) != (account == nil) else { throw ValidationError("give exactly one of --id or --account") }
        try source.validate()
    }

    func run() async throws {
        let opened = try reportingErrors { try source.open() }
        let directory = opened.directory
        let twin = try await opened.closing { () async throws -> Twin in try await reportingAsyncErrors { () async throws -> Twin in
            let wanted: UInt32
            if let id {
                wanted = try TwinValueParsing.id(id)
            } else {
                let owner = try AccountID(parsing: account ?? "")
                guard let found = try await directory.twinID(account: owner) else { throw TwinNotFound(what: "no twin owned by \(owner.ss58)") }
                wanted = found
            }
            guard let twin = try await directory.twin(id: wanted) else { throw TwinNotFound(what: "no twin with id \(wanted) in \(opened.name)") }
            return twin
        } }
        if json {
            let output = try reportingErrors { try TwinJSON(twin).encoded() }
            print(output)
        } else {
            print("twin \(twin.id)")
            print("  account  \(twin.account.ss58)")
            print("  hex      \(twin.account.hex)")
            print("  pk       \(twin.e2ePublicKey.map(Hex.encode) ?? "none (messages to this twin are not encrypted)")")
            print("  relays   \(twin.relays.isEmpty ? "none" : twin.relays.map(\.canonical).joined(separator: ", "))")
        }
    }
}

/// `rmb twin remove`: delete one twin; an unknown id is an error so typos do not pass silently.
struct RemoveTwin: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a twin from the file.")

    @Option(name: .long, help: "Twin file (TOML).")
    var twins: String

    @Option(name: .long, help: "Twin id.")
    var id: String

    func run() throws {
        try reportingErrors {
            let wanted = try TwinValueParsing.id(id)
            guard try LocalTwinFile.remove(id: wanted, fromFileAt: twins) else { throw UnknownTwin(path: twins, id: wanted) }
            print("twin \(wanted) removed from \(twins)")
        }
    }
}

// MARK: Helpers

/// The `--json` shape of `rmb twin show`; `pk` is always present (null when absent).
struct TwinJSON: Encodable {
    let id: UInt32
    let accountHex: String
    let accountSS58: String
    let pk: String?
    let relays: [String]

    init(_ twin: Twin) {
        id = twin.id
        accountHex = twin.account.hex
        accountSS58 = twin.account.ss58
        pk = twin.e2ePublicKey.map(Hex.encode)
        relays = twin.relays.map(\.canonical)
    }

    private enum CodingKeys: String, CodingKey {
        case id, pk, relays
        case accountHex = "account_hex"
        case accountSS58 = "account_ss58"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(accountHex, forKey: .accountHex)
        try container.encode(accountSS58, forKey: .accountSS58)
        try container.encode(pk, forKey: .pk)
        try container.encode(relays, forKey: .relays)
    }

    func encoded() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]   // one line: easy to pipe
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

private struct UnknownTwin: Error, CustomStringConvertible {
    let path: String
    let id: UInt32
    var description: String { "\(path): no twin with id \(id)" }
}


/// Runs `body`; any error becomes one `error: …` line on stderr and exit code 2.
@discardableResult
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(2)
    }
}

/// Async ``reportingErrors(_:)``: chain failures (node unreachable, transaction rejected, not
/// finalized) exit 1, bad input exits 2 — so scripts can tell "retry later" from "fix the call".
/// "No such twin" is bad input whichever way it was asked (by id, or by the key's account).
@discardableResult
func reportingAsyncErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        if let chain = error as? TFChainError, !chain.isCallersMistake { throw ExitCode(1) }
        throw ExitCode(2)
    }
}

struct TwinNotFound: Error, CustomStringConvertible {
    let what: String
    var description: String { what }
}
