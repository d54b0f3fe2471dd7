import Foundation

/// A short command run to completion, stdout and stderr together: for checks such as
/// `rmb-peer -V` or `openssl verify` (long-lived servers use ``ChildProcess``).
public struct CommandOutput: Sendable, CustomStringConvertible {
    public let status: Int32
    /// stdout and stderr, interleaved, trimmed.
    public let output: String

    /// Runs `executable` (a path, or a name looked up on PATH) with `arguments`.
    public static func run(_ executable: String, _ arguments: [String]) throws -> CommandOutput {
        let process = Process()
        if executable.contains("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [executable] + arguments
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return CommandOutput(status: process.terminationStatus, output: output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    public var description: String { "exit \(status): \(output)" }
}
