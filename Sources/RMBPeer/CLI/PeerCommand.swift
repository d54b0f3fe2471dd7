import ArgumentParser
import Foundation
import Logging
import ProcessLifecycle
import RMBEngine
import RMBIdentity
import RMBProtocol
import ServiceLifecycle
import TFChain
import TLSSupport
import TwinDirectory

/// `rmb-peer`: the reference's flags with the same names, plus `--twins` for networks without
/// a blockchain and `--mnemonic-file` / `RMB_MNEMONIC` so secrets stay out of `ps`.
public struct PeerCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rmb-peer",
        abstract: "RMB peer: a twin's gateway between local Redis applications and RMB relays.",
        version: RMBVersion.semantic
    )

    @Option(name: [.short, .long], help: "Mnemonic or 0x hex seed (prefer RMB_MNEMONIC or --mnemonic-file).") var mnemonic: String?
    @Option(name: .long, help: .hidden) var mnemonics: String?
    @Option(name: .long, help: .hidden) var seed: String?
    @Option(name: .customLong("mnemonic-file"), help: "File holding the mnemonic or 0x seed.") var mnemonicFile: String?
    @Option(name: [.short, .customLong("key-type")], help: "sr25519 (default) or ed25519.") var keyType: String?
    @Option(name: [.short, .long], help: "Local Redis URL (default redis://localhost:6379).") var redis: String?
    @Option(name: [.short, .long], help: "tfchain RPC URL (repeat for failover; default wss://tfchain.grid.tf:443).") var substrate: [String] = []
    @Option(name: .long, help: "Relay: host (wss), host:port or http://host:port. Repeat; default: the twin record's relays.") var relay: [String] = []
    @Option(name: .long, help: "Local twin file (TOML): the twin directory for networks without a blockchain.") var twins: String?
    @Option(name: .long, help: "Directory of the peer's LMDB store (default rmb-peer-store).") var store: String?
    @Option(name: .long, help: "config.toml (see config.toml.example); flags override it.") var config: String?
    @Option(name: .long, help: "Serve Prometheus metrics on host:port (e.g. 127.0.0.1:9101; port 0: any free port, logged); off by default. The peer does not start if it cannot listen there.") var metrics: String?
    @Option(name: .customLong("ca-file"), help: "PEM file of extra trusted roots for wss:// relays and tfchain (SSL_CERT_FILE is honoured too).") var caFile: String?
    @Option(name: [.short, .long], help: .hidden) var uploads: String?
    @Flag(name: .customLong("no-update"), help: "Do not update the twin record on start.") var noUpdate = false
    @Flag(name: .customLong("replace-relays"), help: "On update, write exactly the --relay list (default: keep other relays on the record).") var replaceRelays = false
    @Option(name: .long, help: "Seconds a SIGTERM/SIGINT stop may take (intake stopped, batches in flight confirmed for up to half of it, sessions closed) before the process exits anyway.")
    var shutdownTimeout = 10.0
    @Flag(name: .short, help: "More logs (-d debug, -dd trace).") var debug: Int

    /// The reference's default tfchain endpoint.
    static let defaultSubstrate = ["wss://tfchain.grid.tf:443"]

    public init() {}

    /// Entry point of the executable: bad flags or secrets print one line and exit 2.
    public static func runMain(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) async -> Never {
        do {
            // `-V` is the reference's (clap's) short version flag; scripts written for it use it.
            var command = try parseAsRoot(arguments.map { $0 == "-V" ? "--version" : $0 })
            if let peer = command as? PeerCommand {
                try await peer.run()
            } else {
                try command.run()   // --help and friends
            }
            Foundation.exit(0)
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            if exitCode(for: error) == .success { print(fullMessage(for: error)); Foundation.exit(0) }
            FileHandle.standardError.write(Data("error: \(message(for: error))\n".utf8))
            Foundation.exit(2)
        }
    }

    public func run() async throws {
        var logger = Logger(label: "rmb-peer")
        logger.logLevel = debug >= 2 ? .trace : debug == 1 ? .debug : .info
        guard shutdownTimeout > 0, shutdownTimeout.isFinite else { throw ValidationError("--shutdown-timeout must be > 0") }
        let file: PeerConfigFile
        do throws(PeerConfigFile.Failure) {
            if let config { file = try PeerConfigFile.load(path: config) } else { file = PeerConfigFile() }
        } catch {
            throw ValidationError(error.description)
        }
        if let caFile = caFile ?? file.caFile {
            do throws(ClientTLS.Failure) { try ClientTLS.trust(caFile: caFile) } catch { throw ValidationError(error.description) }
        }
        var configuration = try makeConfiguration(file)
        let directory: any TwinDirectory
        var chain: TFChainClient?
        if let twinsPath = localTwinFile(file) {
            directory = CachedTwinDirectory(backend: try LocalTwinDirectory(path: twinsPath))
        } else {
            let urls = !substrate.isEmpty ? substrate : file.substrate ?? Self.defaultSubstrate
            let client = TFChainClient(urls: urls, logger: logger)
            chain = client
            if !noUpdate && file.updateTwin != false {
                let sync = OwnTwinSync(chain: client, identity: configuration.identity, logger: logger)
                let outcome = try await sync.run(
                    givenRelays: configuration.relays, mode: replaceRelays || file.replaceRelays == true ? .replace : .merge,
                    finalizationTimeout: .seconds(120))
                configuration.relays = outcome.relays
            }
            // peer.md §1.5: 500 entries, 5 minutes.
            directory = CachedTwinDirectory(backend: client.directory)
        }
        configuration.drainTimeout = .seconds(shutdownTimeout / 2)
        let service = try await PeerService(configuration: configuration, directory: directory, logger: logger)
        var groupConfiguration = ServiceGroupConfiguration(
            services: [.init(service: service), .init(service: ShutdownWatchdog(limit: .seconds(shutdownTimeout), logger: logger))],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // Past 80 % of the bound, what still runs is cancelled; the watchdog ends the rest.
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(shutdownTimeout * 0.8)
        try await ServiceGroup(configuration: groupConfiguration).run()
        await chain?.close()
    }

    /// The twin directory: a flag beats the config file, and `--substrate` beats a file's
    /// `twins_file` (and `--twins` a file's `substrate`); with nothing given, tfchain.
    private func localTwinFile(_ file: PeerConfigFile) -> String? {
        if let twins { return twins }
        if !substrate.isEmpty { return nil }
        if let fileSubstrate = file.substrate, !fileSubstrate.isEmpty, file.twinsFile == nil { return nil }
        return file.twinsFile
    }

    private func makeConfiguration(_ file: PeerConfigFile) throws -> PeerService.Configuration {
        var given = [mnemonic, mnemonics, seed].compactMap { $0 }
        let mnemonicFile = self.mnemonicFile ?? (given.isEmpty && file.mnemonic == nil ? file.mnemonicFile : nil)
        if given.isEmpty, mnemonicFile == nil, let fromFile = file.mnemonic { given = [fromFile] }
        var secret: String
        if given.count > 1 { throw ValidationError("give only one of --mnemonic, --mnemonics, --seed") }
        if let first = given.first {
            secret = first
        } else if let file = mnemonicFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw ValidationError("cannot read --mnemonic-file \(file)") }
            secret = text
        } else if let environment = ProcessInfo.processInfo.environment["RMB_MNEMONIC"] {
            secret = environment
        } else {
            throw ValidationError("a secret is required: --mnemonic, --mnemonic-file or RMB_MNEMONIC")
        }
        secret = secret.trimmingCharacters(in: .whitespacesAndNewlines)
        let keyTypeName = keyType ?? file.keyType ?? "sr25519"
        guard let type = KeyType(name: keyTypeName) else { throw ValidationError("invalid key type '\(keyTypeName)': expected sr25519 or ed25519") }
        let identity: Identity
        do { identity = try Identity(parsing: secret, keyType: type) } catch {
            throw ValidationError("failed to initialize keys: \(error.description)")
        }
        var relays: [RelayAddress] = []
        for text in relay.isEmpty ? (file.relays ?? []) : relay {
            do { relays.append(try RelayAddress(parsing: text)) } catch { throw ValidationError("invalid --relay '\(text)': \(error)") }
        }
        if twins != nil, !substrate.isEmpty {
            throw ValidationError("--twins and --substrate exclude each other: pick one twin directory")
        }
        if file.twinsFile != nil, !(file.substrate ?? []).isEmpty {
            throw ValidationError("config: directory.twins_file and directory.substrate exclude each other")
        }
        var configuration = PeerService.Configuration(identity: identity, relays: relays,
                                                      redisURL: redis ?? file.redis ?? "redis://localhost:6379",
                                                      storePath: store ?? file.storePath ?? "rmb-peer-store")
        if let mib = file.storeMapSizeMiB { configuration.storeMapSize = mib << 20 }
        if let millis = file.keepaliveMillis { configuration.connection.keepalive = .milliseconds(millis) }
        if let millis = file.confirmationTimeoutMillis { configuration.connection.confirmationTimeout = .milliseconds(millis) }
        if let millis = file.confirmationWindowMillis { configuration.connection.confirmationWindow = .milliseconds(millis) }
        if let enabled = file.hedge { configuration.connection.hedge.enabled = enabled }
        if let millis = file.hedgeFloorMillis { configuration.connection.hedge.floor = .milliseconds(millis) }
        if let multiplier = file.hedgeMultiplier { configuration.connection.hedge.multiplier = multiplier }
        if let text = metrics ?? file.metricsListen {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port),
                  colon > text.startIndex else {
                throw ValidationError("--metrics: expected host:port, got '\(text)'")
            }
            var host = String(text[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            configuration.metricsAddress = (host, port)
        }
        return configuration
    }
}
