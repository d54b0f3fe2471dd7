import RMBProtocol
import ArgumentParser
import Foundation

/// `rmb`: tools for RMB twins, in the spirit of substrate's `subkey`.
public struct RMBCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rmb",
        abstract: "Reliable Message Bus tools: keys, envelopes, relay tokens, twins, benchmarks.",
        version: RMBVersion.semantic,
        subcommands: [KeyCommand.self, EnvelopeCommand.self, JWTCommand.self, TwinCommand.self, PeerStatusCommand.self, ServiceCommand.self, StoreCommand.self, BenchCommand.self]
    )

    public init() {}

    /// Entry point used by the `rmb` executable: usage errors and bad input exit with code 2
    /// and one line on stderr, never a stack trace.
    public static func runMain(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) async -> Never {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            Foundation.exit(0)
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            let exitCode = RMBCommand.exitCode(for: error)
            if exitCode == .success {
                // --help / --version
                print(RMBCommand.fullMessage(for: error))
                Foundation.exit(0)
            }
            printError(RMBCommand.message(for: error))
            Foundation.exit(2)
        }
    }
}

/// Writes one line to stderr.
func printError(_ message: String) {
    FileHandle.standardError.write(Data(("error: " + message + "\n").utf8))
}

/// A problem with what the user gave us: printed as one line, exit code 2.
struct InputError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension ParsableCommand {
    /// Runs `body`, turning any thrown error into one stderr line and exit code 2.
    func reportingBadInput(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let code as ExitCode {
            throw code
        } catch {
            printError(String(describing: error))
            throw ExitCode(2)
        }
    }

    /// The async twin of `reportingBadInput`, for commands whose work awaits.
    func reportingBadInput(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let code as ExitCode {
            throw code
        } catch {
            printError(String(describing: error))
            throw ExitCode(2)
        }
    }
}
