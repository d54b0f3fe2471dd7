import ArgumentParser
import Foundation
import Logging
import RMBClient
import RMBDirectPeer
import ServiceLifecycle
import TwinDirectory

/// `rmb service direct-echo`: the echo service as a direct peer — its own relay sessions and
/// store, no rmb-peer and no Redis. For demos, smoke tests and the crash tests of the direct peer.
struct DirectEcho: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "direct-echo",
        abstract: "Answer every request for a command with its own payload, as a direct peer (no rmb-peer, no Redis).")
    @OptionGroup var source: TwinSourceOptions
    @OptionGroup var secret: SecretOptions
    @Option(help: "Relay URL to hold a session to (repeat; default: the relays on the twin's record).") var relay: [String] = []
    @Option(help: "Crash-safe store directory (default: none — nothing survives a restart).") var store: String?
    @Option(help: "Command to serve.") var command: String = "echo"
    @Option(help: "Handlers running at once.") var concurrency: Int = 64
    @Flag(name: .shortAndLong, help: "Debug logging.") var debug = false

    func validate() throws {
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
    }

    func run() async throws {
        var logger = Logger(label: "rmb-direct-echo")
        logger.logLevel = debug ? .debug : .info
        var configuration = RMBDirectPeer.Configuration(identity: try secret.identity())
        do {
            configuration.relays = try relay.map { text throws(RelayAddressError) in try RelayAddress(parsing: text) }
        } catch {
            throw ValidationError("invalid --relay: \(error)")
        }
        configuration.store = store.map { .lmdb(path: $0) } ?? .none
        configuration.handlerConcurrency = concurrency
        var router = RMBRouter()
        router.handle(command) { request in RMBOutgoingResponse(payload: request.payload, schema: request.schema) }
        let opened = try source.open()
        try await opened.closing {
            let peer = try await RMBDirectPeer(configuration: configuration, directory: CachedTwinDirectory(backend: opened.directory),
                                               router: router, logger: logger)
            logger.info("serving", metadata: ["twin": "\(peer.twinID)", "command": "\(command)"])
            let group = ServiceGroup(services: [peer], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            try await group.run()
        }
    }
}
