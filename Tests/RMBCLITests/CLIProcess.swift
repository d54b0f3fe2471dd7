import Foundation
import RMBTestSupport

/// Runs the built `rmb` executable (next to the test bundle in .build/<config>/, or in
/// `RMB_BIN_DIR`) and captures
/// its exit code, stdout and stderr, so the tests see exactly what a user sees.
struct CLIResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

enum CLIProcess {
    /// The `rmb` next to the test runner, or in `RMB_BIN_DIR` (``LocalNetwork/binDirectory``),
    /// e.g. a release build for figures.
    static var executable: URL { LocalNetwork.binDirectory.appendingPathComponent("rmb") }

    /// Runs `rmb` to completion. The blocking reads and wait happen on a Dispatch thread, not
    /// on the cooperative pool (two threads here), so parallel tests are not starved.
    /// `environment`: variables to set (or, with nil, to remove) for this run.
    static func run(_ arguments: [String], environment: [String: String?] = [:]) async throws -> CLIResult {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try runBlocking(arguments, environment: environment) })
            }
        }
    }

    private static func runBlocking(_ arguments: [String], environment: [String: String?]) throws -> CLIResult {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if !environment.isEmpty {
            var merged = ProcessInfo.processInfo.environment
            for (name, value) in environment { merged[name] = value }
            process.environment = merged
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLIResult(status: process.terminationStatus,
                         stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
    }
}
