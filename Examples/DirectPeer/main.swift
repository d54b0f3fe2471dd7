// A direct peer: the bus in this process, no rmb-peer and no Redis. It serves `calculator.add`
// for any twin and, given a twin id, calls that twin's calculator once. The twin's secret comes
// from RMB_MNEMONIC; twins are looked up in a local twin file (tfchain works the same way
// through TFChain's directory). Stops cleanly on SIGTERM or Ctrl-C.
//
//     RMB_MNEMONIC="…" swift run rmb-example-direct-peer twins.toml [twin-to-call]
import Foundation
import Logging
import RMBDirectPeer
import RMBIdentity
import ServiceLifecycle
import TwinDirectory

struct Operands: Codable, Sendable { var a: Int; var b: Int }
struct Sum: Codable { var sum: Int }

let arguments = CommandLine.arguments.dropFirst()
guard let twinsFile = arguments.first, let mnemonic = ProcessInfo.processInfo.environment["RMB_MNEMONIC"] else {
    print("usage: RMB_MNEMONIC=… rmb-example-direct-peer <twins.toml> [twin-to-call]")
    exit(2)
}
let logger = Logger(label: "direct-calculator")

var router = RMBRouter()
router.use(RMBLoggingMiddleware(logger: logger))
router.group("calculator") { calculator in
    calculator.handle("add") { (input: Operands, _) in Sum(sum: input.a + input.b) }
}

do {
    var configuration = RMBDirectPeer.Configuration(identity: try Identity(parsing: mnemonic, keyType: .sr25519))
    // Crash-safe retries and de-duplication across restarts; `.none` keeps them for one run.
    configuration.store = .lmdb(path: FileManager.default.temporaryDirectory.appendingPathComponent("rmb-direct-example").path)
    let peer = try await RMBDirectPeer(configuration: configuration, directory: try LocalTwinDirectory(path: twinsFile),
                                       router: router, logger: logger)
    let group = ServiceGroup(services: [peer], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        if let text = arguments.dropFirst().first, let twin = UInt32(text) {
            do {
                let sum: Sum = try await peer.call(twin: twin, "calculator.add", Operands(a: 40, b: 2), timeout: .seconds(30))
                print("twin \(twin): 40 + 2 = \(sum.sum)")
            } catch {
                // An RMBCallError: remote errors carry the service's code and message.
                print("call failed: \(error)")
            }
        }
        try await tasks.next()
    }
} catch {
    logger.error("stopped: \(error)")
    exit(1)
}
