import ArgumentParser
import Foundation
import RMBIdentity
import TFChain
import TwinDirectory

/// `rmb twin relays list|add|remove|set`: a twin's relay list, on tfchain (signed `update_twin`,
/// waited for until finalized) or in a local twin file.
struct TwinRelaysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relays",
        abstract: "Show or change a twin's relay list (tfchain or local twin file).",
        discussion: """
            On tfchain the relays are host names only (no scheme, port or path), joined with "_" and \
            checked as the chain does; the change is signed by the twin's own key and waited for until \
            finalized. The twin's e2e key is left as it is. Exit codes: 0 done (or nothing to change), \
            2 bad input, 1 the chain could not be reached or refused the change.
            """,
        subcommands: [ListRelays.self, EditRelays.Add.self, EditRelays.Remove.self, EditRelays.Set.self]
    )
}

/// Which twin: `--id`, `--account`, or the account of the secret.
struct TwinSelection: ParsableArguments {
    @Option(name: .long, help: "Twin id.")
    var id: String?

    @Option(name: .long, help: "Account (SS58 or hex) owning the twin.")
    var account: String?

    @OptionGroup var secret: SecretOptions

    /// The twin id from the flags, looking the account up when needed; nil if none was given.
    func resolve(in directory: any TwinDirectory) async throws -> UInt32 {
        if let id { return try TwinValueParsing.id(id) }
        let owner: AccountID
        if let account {
            owner = try AccountID(parsing: account)
        } else if secret.isGiven {
            owner = try secret.identity().account
        } else {
            throw ValidationError("say which twin: --id, --account or the twin's secret")
        }
        guard let id = try await directory.twinID(account: owner) else { throw TwinNotFound(what: "no twin owned by \(owner.ss58)") }
        return id
    }
}

struct ListRelays: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Print the twin's relays, one per line.")

    @OptionGroup var source: TwinSourceOptions
    @OptionGroup var twin: TwinSelection
    @Flag(name: .long, help: "Print a JSON array.") var json = false

    func run() async throws {
        let opened = try reportingErrors { try source.open() }
        let relays = try await opened.closing { () async throws -> [RelayAddress] in
            try await reportingAsyncErrors { () async throws -> [RelayAddress] in
                let id = try await twin.resolve(in: opened.directory)
                guard let found = try await opened.directory.twin(id: id) else { throw TwinNotFound(what: "no twin with id \(id) in \(opened.name)") }
                return found.relays
            }
        }
        if json {
            let data = try JSONEncoder().encode(relays.map(\.canonical))
            print(String(decoding: data, as: UTF8.self))
        } else {
            for relay in relays { print(relay.canonical) }
        }
    }
}

/// add / remove / set share everything but the list edit.
enum EditRelays {
    enum Operation { case add, remove, set }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add relays to the twin's list.")
        @OptionGroup var options: EditOptions
        @Argument(help: "Relays to add.") var relays: [String]
        func run() async throws { try await options.run(.add, relays) }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove relays from the twin's list.")
        @OptionGroup var options: EditOptions
        @Argument(help: "Relays to remove.") var relays: [String]
        func run() async throws { try await options.run(.remove, relays) }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Replace the twin's list.")
        @OptionGroup var options: EditOptions
        @Argument(help: "The new relay list.") var relays: [String]
        func run() async throws { try await options.run(.set, relays) }
    }

    /// The new list after `operation`; removing a relay that is not listed is an error (typos).
    static func edit(_ current: [RelayAddress], _ operation: Operation, _ arguments: [RelayAddress]) throws -> [RelayAddress] {
        switch operation {
        case .add:
            return current + arguments.filter { !current.contains($0) }.uniqued()
        case .remove:
            if let missing = arguments.first(where: { !current.contains($0) }) {
                throw ValidationError("relay \(missing.canonical) is not on the twin's list")
            }
            return current.filter { !arguments.contains($0) }
        case .set:
            return arguments.uniqued()
        }
    }
}

struct EditOptions: ParsableArguments {
    @OptionGroup var source: TwinSourceOptions
    @OptionGroup var twin: TwinSelection
    @Option(name: .long, help: "Seconds to wait for finalization on tfchain.") var timeout = 120

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be > 0") }
    }

    func run(_ operation: EditRelays.Operation, _ texts: [String]) async throws {
        let arguments = try reportingErrors { try texts.map { try RelayAddress(parsing: $0) } }
        let opened = try reportingErrors { try source.open() }
        let message = try await opened.closing { () async throws -> String in
            try await reportingAsyncErrors { () async throws -> String in
                switch opened {
                case .file(let path, let directory):
                    return try await editFile(path: path, directory: directory, operation, arguments)
                case .chain(let client):
                    return try await editChain(client, operation, arguments)
                }
            }
        }
        print(message)
    }

    private func editFile(path: String, directory: LocalTwinDirectory, _ operation: EditRelays.Operation,
                          _ arguments: [RelayAddress]) async throws -> String {
        let id = try await twin.resolve(in: directory)
        guard var found = await directory.twin(id: id) else { throw TwinNotFound(what: "no twin with id \(id) in \(path)") }
        let relays = try EditRelays.edit(found.relays, operation, arguments)
        if relays == found.relays { return "twin \(id): no change (\(describe(relays)))" }
        found.relays = relays
        try LocalTwinFile.upsert(found, inFileAt: path)
        return "twin \(id) relays: \(describe(relays)) (saved to \(path))"
    }

    private func editChain(_ client: TFChainClient, _ operation: EditRelays.Operation, _ arguments: [RelayAddress]) async throws -> String {
        if let refused = arguments.first(where: { !$0.isChainCompatible }), let reason = refused.chainIncompatibility {
            throw ValidationError("relay \(refused.canonical) cannot be written on tfchain: \(reason)")
        }
        let identity = try twin.secret.identity()
        guard let id = try await client.directory.twinID(account: identity.account) else {
            throw TFChainError.noTwin(account: identity.account.ss58)
        }
        if let wanted = twin.id, (try? TwinValueParsing.id(wanted)) != id {
            throw ValidationError("the secret owns twin \(id), not \(wanted): only a twin's own key can change it")
        }
        guard let record = try await client.directory.record(id: id) else { throw TwinNotFound(what: "no twin with id \(id) on tfchain") }
        let current = record.twin.relays
        let relays = try EditRelays.edit(current, operation, arguments)
        if Swift.Set(relays) == Swift.Set(current) { return "twin \(id): no change (\(describe(relays)))" }
        let field: String?
        if relays.isEmpty {
            field = nil
        } else if let valid = RelayAddress.chainRelayField(for: relays) {
            field = valid
        } else {
            throw ValidationError("'\(relays.map(\.host).joined(separator: "_"))' fails tfchain's relay check (twins.md §1)")
        }
        let receipt = try await client.updateTwin(
            signer: IdentityExtrinsicSigner(identity), relayField: field, publicKey: record.publicKey,
            finalizationTimeout: .seconds(timeout))
        let landed = receipt.blockHash.map { "finalized in block 0x\(Hex.encode($0))" }
            ?? "the node dropped the transaction watch; the twin record shows the change"
        return "twin \(id) relays: \(describe(receipt.record.twin.relays)) (\(landed))"
    }

    private func describe(_ relays: [RelayAddress]) -> String {
        relays.isEmpty ? "none" : relays.map(\.canonical).joined(separator: ", ")
    }
}

private extension Array where Element: Hashable {
    func uniqued() -> [Element] {
        var seen = Swift.Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
