// A service: answers `calculator.add` and `calculator.divide` for any twin, behind the rmb-peer
// whose Redis is given (default redis://127.0.0.1:6379). Stops cleanly on SIGTERM or Ctrl-C.
//
//     swift run rmb-example-service [redis://127.0.0.1:6379]
import Foundation
import Logging
import RMBClient
import ServiceLifecycle

struct Operands: Decodable, Sendable { var a: Int; var b: Int }
struct Result: Encodable { var sum: Int? = nil; var quotient: Int? = nil }

var router = RMBRouter()
router.use(RMBLoggingMiddleware())
router.group("calculator") { calculator in
    calculator.handle("add") { (input: Operands, _) in Result(sum: input.a + input.b) }
    calculator.handle("divide") { (input: Operands, _) in
        guard input.b != 0 else { throw RMBServiceError.badRequest("division by zero") }
        return Result(quotient: input.a / input.b)
    }
}
let logger = Logger(label: "calculator")
do {
    let server = try RMBServer(router: router, redisURL: CommandLine.arguments.dropFirst().first ?? "redis://127.0.0.1:6379", logger: logger)
    let group = ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    try await group.run()
} catch {
    logger.error("stopped: \(error)")
    exit(1)
}
