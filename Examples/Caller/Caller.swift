// A caller: asks a twin for its RMB version and adds two numbers on its calculator service
// (Examples/Service), through the rmb-peer whose Redis is given (default redis://127.0.0.1:6379).
//
//     swift run rmb-example-caller 2 [redis://127.0.0.1:6379]
import Foundation
import RMBClient

struct Operands: Encodable { var a: Int; var b: Int }
struct Sum: Decodable { var sum: Int }

@main
struct Caller {
    static func main() async {
        let arguments = CommandLine.arguments.dropFirst()
        guard let first = arguments.first, let twin = UInt32(first) else {
            print("usage: rmb-example-caller <twin> [redis-url]")
            exit(2)
        }
        do {
            try await call(twin: twin, redisURL: arguments.dropFirst().first ?? "redis://127.0.0.1:6379")
        } catch {
            // `error` is an RMBCallError: remote errors carry the service's code and message.
            print("call failed: \(error)")
            exit(1)
        }
    }

    static func call(twin: UInt32, redisURL: String) async throws(RMBCallError) {
        let client = try RMBClient(redisURL: redisURL)
        let version: String = try await client.call(twin: twin, "rmb.version", timeout: .seconds(30))
        print("twin \(twin) runs rmb \(version)")
        let sum: Sum = try await client.call(twin: twin, "calculator.add", Operands(a: 40, b: 2), timeout: .seconds(30))
        print("40 + 2 = \(sum.sum)")
    }
}
