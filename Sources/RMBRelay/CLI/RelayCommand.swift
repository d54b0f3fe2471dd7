import TwinDirectory
import RMBProtocol
import ArgumentParser
import Foundation
import Logging
import TLSSupport
import ProcessLifecycle
import ServiceLifecycle
import TFChain

/// `rmb-relay` flags (relay.md §12). Relays are reached as `https://<domain>/` and
/// `wss://<domain>/` in production (TLS terminated by a reverse proxy); on local networks and
/// in tests a twin's relay entry may be `http://host:port`, which this relay then POSTs to
/// without TLS, and `--domain host:port` matches such entries.
public struct RelayCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rmb-relay", abstract: "Reliable Message Bus relay (wire-compatible with rmb-rs).", version: RMBVersion.semantic)

    @Option(name: [.customShort("m"), .customLong("domain")], parsing: .upToNextOption, help: "The relay's own domain names.")
    var domains: [String] = []
    @Option(name: .shortAndLong, help: "Redis URL.")
    var redis = "redis://localhost:6379"
    @Option(name: .shortAndLong, parsing: .upToNextOption, help: "tfchain RPC endpoints, tried in turn (default wss://tfchain.grid.tf:443).")
    var substrate: [String] = []
    @Option(name: .long, help: "Local twin file (TOML) used as the twin directory instead of tfchain.")
    var twins: String?
    @Option(name: .shortAndLong, help: "Delivery workers (> 0).")
    var workers = 500
    @Option(name: [.customShort("u"), .customLong("user-per-worker")], help: "Sessions per worker (> 0).")
    var userPerWorker = 1000
    @Option(name: .shortAndLong, help: "Listen address.")
    var listen = "[::]:8080"
    @Flag(name: .shortAndLong, help: "More logs (-d debug, -dd trace).")
    var debug: Int
    @Option(name: .long, parsing: .upToNextOption, help: "Rate limit: <count> <size> per twin per minute.")
    var limit: [Int] = []
    @Option(name: [.customShort("p"), .customLong("ranker-period")], help: "Ranker window in seconds.")
    var rankerPeriod = 3600
    @Option(name: .long, help: "Maximum block gap replayed after a chain reconnect; a longer gap flushes the twin cache.")
    var catchupThreshold = 600
    @Option(name: .long, help: "Largest WebSocket message accepted from a client, in bytes.")
    var maxFrameSize = 4 << 20
    @Option(name: .long, help: "Largest federation body accepted on POST /, in bytes.")
    var maxBodySize = 4 << 20
    @Option(name: .long, parsing: .upToNextOption,
            help: "Federation ingress quota: <count> <size> accepted on POST / per destination twin per minute (default 10000 268435456).")
    var federationLimit: [Int] = []
    @Option(name: .long, help: "Maximum session token lifetime (exp - iat) in seconds; off by default.")
    var maxTokenLifetime: UInt64?
    // `.unconditional` takes "-5" as the value, so a negative number gets the validation message.
    @Option(name: .long, parsing: .unconditional,
            help: "Seconds a federation entry stays pending before a sibling process reclaims it (> 0); consumers of dead processes idle 10 times as long (at least 5 min) with nothing pending are removed.")
    var federationReclaimIdle = 15
    @Option(name: .long, help: "Seconds from accept until a connection is a WebSocket session or has sent a complete request head (TLS handshake included).")
    var handshakeTimeout = 10.0
    @Option(name: .long, help: "Seconds an HTTP request's body may take after its head.")
    var requestTimeout = 30.0
    @Option(name: .long, help: "Seconds a plain HTTP connection may stay open with no request in progress.")
    var idleTimeout = 60.0
    @Option(name: .long, help: "Seconds of silence after which a WebSocket session is pinged; silent for twice as long, it is closed.")
    var pingInterval = 30.0
    @Option(name: .long, help: "Open connections above which new ones are closed at accept (default: the open file limit minus 256).")
    var maxConnections: Int?
    @Option(name: .long, help: "Open connections from one address (IPv4, or IPv6 /64) above which new ones from it are closed at accept.")
    var maxConnectionsPerAddress = 4096
    @Option(name: .long, help: "Seconds a SIGTERM/SIGINT shutdown may take (sessions told, federation work handed back) before the process exits anyway.")
    var shutdownTimeout = 10.0
    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain (leaf first): serve wss:// and https:// on the listen port. Needs --tls-key; SIGHUP reloads both files.")
    var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert.")
    var tlsKey: String?
    @Option(name: .customLong("ca-file"), help: "PEM file of extra trusted roots for federation over https and tfchain (SSL_CERT_FILE is honoured too).")
    var caFile: String?

    /// The reference's default tfchain endpoint (relay.md §12).
    static let defaultSubstrate = ["wss://tfchain.grid.tf:443"]

    public init() {}

    /// Entry point of the executable: parses, runs, and exits (2 on bad flags, 1 on failure).
    public static func runMain(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) async -> Never {
        do {
            // `-V` is the reference's (clap's) short version flag; scripts written for it use it.
            var parsed = try parseAsRoot(arguments.map { $0 == "-V" ? "--version" : $0 })
            if let command = parsed as? RelayCommand {
                try await command.run()
            } else {
                try parsed.run()   // --help and friends
            }
            Foundation.exit(0)
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success { print(fullMessage(for: error)); Foundation.exit(0) }
            let message = code == .validationFailure ? fullMessage(for: error) : "error: \(error)"
            FileHandle.standardError.write(Data((message + "\n").utf8))
            Foundation.exit(code == .validationFailure ? 2 : 1)
        }
    }

    public func validate() throws {
        guard workers > 0 else { throw ValidationError("--workers must be > 0") }
        guard userPerWorker > 0 else { throw ValidationError("--user-per-worker must be > 0") }
        guard limit.isEmpty || (limit.count == 2 && limit.allSatisfy { $0 > 0 }) else {
            throw ValidationError("--limit takes two positive numbers: <count> <size>")
        }
        guard federationLimit.isEmpty || (federationLimit.count == 2 && federationLimit.allSatisfy { $0 > 0 }) else {
            throw ValidationError("--federation-limit takes two positive numbers: <count> <size>")
        }
        guard ListenAddress(listen) != nil else { throw ValidationError("--listen: expected host:port, got '\(listen)'") }
        guard maxFrameSize > 0, maxBodySize > 0 else { throw ValidationError("size limits must be > 0") }
        guard twins == nil || substrate.isEmpty else { throw ValidationError("--twins and --substrate exclude each other: pick one twin directory") }
        guard catchupThreshold >= 0 else { throw ValidationError("--catchup-threshold must be >= 0") }
        for (flag, seconds) in [("--shutdown-timeout", shutdownTimeout), ("--handshake-timeout", handshakeTimeout), ("--request-timeout", requestTimeout),
                                ("--idle-timeout", idleTimeout), ("--ping-interval", pingInterval)] {
            guard seconds.isFinite, seconds > 0, seconds <= 86_400 else { throw ValidationError("\(flag) must be > 0 and at most 86400 seconds") }
        }
        guard (maxConnections ?? 1) > 0, maxConnectionsPerAddress > 0 else {
            throw ValidationError("--max-connections and --max-connections-per-address must be > 0")
        }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        guard federationReclaimIdle > 0 else {
            throw ValidationError("--federation-reclaim-idle must be > 0 seconds, got \(federationReclaimIdle)")
        }
    }

    public func run() async throws {
        if let caFile {
            do throws(ClientTLS.Failure) { try ClientTLS.trust(caFile: caFile) } catch { throw ValidationError(error.description) }
        }
        let debug = self.debug
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = debug >= 2 ? .trace : debug == 1 ? .debug : .info
            return handler
        }
        let logger = Logger(label: "rmb.relay")
        raiseFileLimit(logger: logger)
        guard let address = ListenAddress(listen) else { throw ExitCode.validationFailure }
        var tls: ServerTLS?
        if let tlsCert, let tlsKey {
            do throws(ServerTLS.Failure) { tls = try ServerTLS(certificatePath: tlsCert, privateKeyPath: tlsKey) } catch {
                throw ValidationError(error.description)
            }
        }
        let directory: any TwinDirectory
        var chain: TFChainClient?
        if let twinsPath = twins {
            directory = try LocalTwinDirectory(path: twinsPath)
        } else {
            let client = TFChainClient(urls: substrate.isEmpty ? Self.defaultSubstrate : substrate, logger: logger)
            _ = try await client.runtime()   // fail fast: unreachable nodes or an incompatible runtime
            directory = client.directory
            chain = client
        }
        var configuration = makeConfiguration(address)
        configuration.tls = tls
        let server = try RelayServer(configuration: configuration, twins: directory, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: server)]
        if let tls { services.append(.init(service: CertificateReloader(tls: tls, logger: logger))) }
        if let chain {
            var followerConfiguration = TwinEventFollower.Configuration()
            followerConfiguration.catchUpLimit = UInt64(catchupThreshold)
            services.append(.init(service: TwinEventService(
                follower: TwinEventFollower(client: chain, configuration: followerConfiguration, logger: logger), server: server)))
        }
        services.append(.init(service: ShutdownWatchdog(limit: .seconds(shutdownTimeout), logger: logger)))
        var groupConfiguration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // Past 80 % of the bound, what still runs is cancelled; the watchdog ends the rest.
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(shutdownTimeout * 0.8)
        let group = ServiceGroup(configuration: groupConfiguration)
        try await group.run()
        await chain?.close()
    }
}

extension RelayCommand {
    /// The server configuration from the (validated) flags; separate from `run` so tests can
    /// check that every flag arrives.
    func makeConfiguration(_ address: ListenAddress) -> RelayConfiguration {
        var configuration = RelayConfiguration(
            domains: domains, redisURL: redis, host: address.host, port: address.port, workers: workers,
            usersPerWorker: userPerWorker,
            rateLimit: limit.count == 2 ? .init(count: limit[0], size: limit[1]) : nil,
            rankerPeriod: .seconds(rankerPeriod), maxFrameSize: maxFrameSize, maxBodySize: maxBodySize,
            maxTokenLifetime: maxTokenLifetime, federationReclaimIdle: .seconds(federationReclaimIdle))
        if federationLimit.count == 2 { configuration.federationLimit = .init(count: federationLimit[0], size: federationLimit[1]) }
        configuration.shutdownTimeout = .seconds(shutdownTimeout)
        configuration.limits.handshakeTimeout = .seconds(handshakeTimeout)
        configuration.limits.requestTimeout = .seconds(requestTimeout)
        configuration.limits.idleTimeout = .seconds(idleTimeout)
        configuration.limits.pingInterval = .seconds(pingInterval)
        configuration.limits.maxConnections = maxConnections
        configuration.limits.maxConnectionsPerAddress = maxConnectionsPerAddress
        return configuration
    }
}

/// `host:port`, `[v6]:port`.
struct ListenAddress {
    var host: String
    var port: Int
    init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }
}
